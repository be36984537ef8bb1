// The login page: one button, the phone offers its Segel passkey, the server opens a session.
import { credentialJSON, explain, noSupport, passkeysSupported, t, postJSON, requestOptions, say } from './ceremony.js';

const section = document.getElementById('login');
const button = /** @type {HTMLButtonElement|null} */ (document.getElementById('login-button'));
const status = document.getElementById('status');

async function login() {
  button.disabled = true;
  say(status, t('waiting'));
  try {
    const { options } = await postJSON('/auth/login/options', {});
    const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
    const answer = await postJSON('/auth/login/verify', { credential: credentialJSON(credential) });
    say(status, t('signedIn', { user: answer.user_id }));
    status.dataset.state = 'signed-in';
    location.assign(section.dataset.next || answer.redirect || '/');
  } catch (error) {
    say(status, explain(error), true);
    status.dataset.state = 'failed';
    button.disabled = false;
  }
}

if (button) {
  if (!passkeysSupported()) {
    button.disabled = true;
    say(status, noSupport(), true);
    status.dataset.state = 'unsupported';
  } else {
    button.addEventListener('click', login);
  }
}
