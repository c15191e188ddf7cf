// rfbcast's browser viewer: noVNC's RFB client on the WebSocket of the session named in the
// page's path (/view/<session>), with the link's token passed on. The page's state is also left
// on window.rfbcast for automated checks.
import RFB from '/novnc/core/rfb.js';

const statusEl = document.getElementById('status');
const nameEl = document.getElementById('name');
const loginEl = document.getElementById('login');
const params = new URLSearchParams(location.search);
const session = decodeURIComponent(location.pathname.split('/')[2] || '');
const token = params.get('token');

const state = { status: 'connecting', message: '', desktop: '', session };
window.rfbcast = state;

function show(status, message) {
    state.status = status;
    state.message = message;
    statusEl.textContent = message;
    statusEl.className = status === 'failed' ? 'failed' : '';
}

const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
let url = `${scheme}//${location.host}/ws/${encodeURIComponent(session)}`;
if (token) url += `?token=${encodeURIComponent(token)}`;

const rfb = new RFB(document.getElementById('screen'), url, { shared: true });
state.rfb = rfb;
rfb.scaleViewport = params.get('scale') !== '0';
rfb.viewOnly = params.get('view_only') === '1';

rfb.addEventListener('connect', () => show('connected', 'Connected'));
rfb.addEventListener('disconnect', (e) => {
    if (state.status === 'failed') return;  // keep the reason already shown
    if (e.detail.clean)
        show('disconnected', 'Disconnected');
    else
        show('failed', 'The connection was lost or refused');
});
rfb.addEventListener('securityfailure', (e) => {
    show('failed', `Refused: ${e.detail.reason || 'authentication failed'}`);
});
rfb.addEventListener('credentialsrequired', () => {
    show('connecting', 'Password needed');
    loginEl.style.display = 'inline';
    document.getElementById('password').focus();
});
rfb.addEventListener('desktopname', (e) => {
    state.desktop = e.detail.name;
    nameEl.textContent = e.detail.name;
    document.title = `${e.detail.name} — rfbcast`;
});
loginEl.addEventListener('submit', (e) => {
    e.preventDefault();
    loginEl.style.display = 'none';
    rfb.sendCredentials({ password: document.getElementById('password').value });
});
