// The enrollment page: register this phone's passkey with the one-time link, then the user is signed in.
import {
  creationOptions, credentialJSON, explain, noSupport, passkeysSupported, postJSON, say, t,
} from './ceremony.js';

const section = document.getElementById('enroll');
const button = /** @type {HTMLButtonElement|null} */ (document.getElementById('enroll-button'));
const status = document.getElementById('status');

async function enroll() {
  const token = section.dataset.token;
  button.disabled = true;
  say(status, t('creating'));
  try {
    const { options } = await postJSON('/auth/enroll/options', { token });
    const credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
    const label = /** @type {HTMLInputElement} */ (document.getElementById('label')).value.trim();
    const answer = await postJSON('/auth/enroll/verify', { token, label, credential: credentialJSON(credential) });
    say(status, t('enrolled'));
    status.dataset.state = 'enrolled';
    const next = document.createElement('a');
    next.href = (answer && answer.redirect) || '/app';
    next.className = 'button';
    next.id = 'continue';
    next.textContent = next.pathname.startsWith('/office') ? t('openOffice') : t('openApp');
    status.after(next);
  } catch (error) {
    say(status, explain(error), true);
    status.dataset.state = 'failed';
    button.disabled = false;
  }
}

if (section) {
  if (!passkeysSupported()) {
    button.disabled = true;
    say(status, noSupport(), true);
    status.dataset.state = 'unsupported';
  } else {
    button.addEventListener('click', enroll);
  }
}
