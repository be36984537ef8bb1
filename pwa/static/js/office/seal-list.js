// Drive-thru seal list: counts the seals scanned so far and flags a seal scanned twice.
// Progressive enhancement only: without this script the form works the same, and the server checks everything.
const field = /** @type {HTMLTextAreaElement|null} */ (document.querySelector('textarea[name="seals"]'));
const status = /** @type {HTMLElement|null} */ (document.querySelector('[data-role="seal-count"]'));

/** @param {string} text @returns {{count: number, repeated: string[]}} */
function summarise(text) {
  const seals = text.split(/[\s,]+/).map((s) => s.trim().toUpperCase()).filter(Boolean);
  const seen = new Set();
  const repeated = [];
  for (const seal of seals) {
    if (seen.has(seal) && !repeated.includes(seal)) repeated.push(seal);
    seen.add(seal);
  }
  return { count: seen.size, repeated };
}

if (field && status) {
  const update = () => {
    const { count, repeated } = summarise(field.value);
    status.textContent = `${count} amplop dipindai` + (repeated.length ? ` · dipindai dua kali: ${repeated.join(', ')}` : '');
    status.classList.toggle('bad', repeated.length > 0);
  };
  field.addEventListener('input', update);
  update();
}
