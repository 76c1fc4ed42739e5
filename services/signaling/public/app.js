// @ts-check
// The recorder page: camera preview, publishing over WHIP, recording control, and the live list of
// recordings. Browser JavaScript modules without a build step, type-checked by `tsc -b`
// (tsconfig.page.json); talks only to the server that served it. api.js: the API calls; whip-publish.js:
// publishing (the tests publish with it too); live-events.js: the WebSocket; texts.js: words and figures.

import { UnreachableError, createApi } from './api.js';
import { createLiveEvents } from './live-events.js';
import {
  STATE_TEXT,
  cameraErrorText,
  describeError,
  describeTracks,
  endedByServerText,
  errorName,
  fileCheckNotice,
  formatClock,
  formatSize,
  lossNotice,
} from './texts.js';
import { connected, publishStream } from './whip-publish.js';

/** @typedef {import('../src/recordings/recording-view.js').RecordingView} RecordingView */
/** @typedef {import('@recstack/contracts').PublisherSession} PublisherSession */

/** @param {string} id */
const $ = (id) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
};
const els = {
  preview: /** @type {HTMLVideoElement} */ ($('preview')),
  placeholder: $('preview-placeholder'),
  placeholderText: $('preview-placeholder-text'),
  recBadge: $('rec-badge'),
  recBadgeText: $('rec-badge-text'),
  record: /** @type {HTMLButtonElement} */ ($('record')),
  stop: /** @type {HTMLButtonElement} */ ($('stop')),
  elapsed: $('elapsed'),
  status: $('status'),
  message: $('message'),
  camera: /** @type {HTMLSelectElement} */ ($('camera')),
  microphone: /** @type {HTMLSelectElement} */ ($('microphone')),
  resolution: /** @type {HTMLSelectElement} */ ($('resolution')),
  codec: /** @type {HTMLSelectElement} */ ($('codec')),
  list: $('recordings'),
  empty: $('empty'),
  count: $('count'),
  itemTemplate: /** @type {HTMLTemplateElement} */ ($('recording-item')),
  connection: $('connection'),
  connectionText: $('connection-text'),
  banner: $('banner'),
  bannerText: $('banner-text'),
  bannerRetry: $('banner-retry'),
  tokenDialog: /** @type {HTMLDialogElement} */ ($('token-dialog')),
  tokenForm: $('token-form'),
  tokenInput: /** @type {HTMLInputElement} */ ($('token-input')),
  tokenError: $('token-error'),
  tokenRemember: /** @type {HTMLInputElement} */ ($('token-remember')),
};

const TOKEN_KEY = 'recstack.apiToken';
const SETTINGS_KEY = 'recstack.settings';

/** @typedef {'idle'|'publishing'|'starting'|'recording'|'stopping'} Phase */

/** What the page is doing; only one transition runs at a time. */
const state = {
  /** @type {Phase} */
  phase: 'idle',
  /** @type {MediaStream|null} */
  stream: null,
  /** @type {RTCPeerConnection|null} */
  pc: null,
  /** @type {string|null} the WHIP session resource, e.g. /whip/ses_... */
  sessionUrl: null,
  /** @type {string|null} */
  sessionId: null,
  /** @type {string|null} */
  recordingId: null,
  recordingSince: 0,
  /** @type {ReturnType<typeof setInterval> | undefined} */
  timer: undefined,
  /** @type {Map<string, RecordingView>} recordings by id */
  recordings: new Map(),
  // the browser session's copy first; localStorage only holds it when the person asked to be remembered
  token: sessionStorage.getItem(TOKEN_KEY) || localStorage.getItem(TOKEN_KEY) || '',
  serverReachable: true,
  cameraReady: false,
};

// ---------------------------------------------------------------------------------------------- API

const { api, apiJson, authHeaders } = createApi({
  token: () => state.token,
  askForToken: (wasWrong) => askForToken(wasWrong),
  reachable: (reachable) => setReachable(reachable),
});

// ------------------------------------------------------------------------------------------- token

/** @type {Promise<void> | null} */
let tokenPrompt = null;

/**
 * Shows the token dialog once, however many calls are waiting for it.
 * @param {boolean} wasWrong
 * @returns {Promise<void>}
 */
function askForToken(wasWrong) {
  if (tokenPrompt) return tokenPrompt;
  tokenPrompt = new Promise((resolve) => {
    els.tokenError.hidden = !wasWrong;
    els.tokenInput.value = '';
    els.tokenRemember.checked = Boolean(localStorage.getItem(TOKEN_KEY));
    els.tokenDialog.showModal();
    els.tokenInput.focus();
    els.tokenForm.addEventListener(
      'submit',
      () => {
        state.token = els.tokenInput.value.trim();
        sessionStorage.setItem(TOKEN_KEY, state.token);
        if (els.tokenRemember.checked) localStorage.setItem(TOKEN_KEY, state.token);
        else localStorage.removeItem(TOKEN_KEY);
        tokenPrompt = null;
        resolve();
        // the socket may have been refused for want of the token
        liveEvents.reconnectNow();
      },
      { once: true },
    );
  });
  return tokenPrompt;
}
// the dialog must not be dismissed with Escape: nothing works without the token
els.tokenDialog.addEventListener('cancel', (event) => event.preventDefault());

// ------------------------------------------------------------------------------------------ status

/** @param {string} text */
function setStatus(text) {
  els.status.textContent = text;
}

/**
 * @param {string} text
 * @param {string} [kind]
 */
function showMessage(text, kind = 'error') {
  els.message.textContent = text;
  els.message.dataset.kind = kind;
  els.message.hidden = !text;
}

function clearMessage() {
  showMessage('');
}

/** @param {boolean} reachable */
function setReachable(reachable) {
  if (state.serverReachable === reachable) return;
  state.serverReachable = reachable;
  if (reachable) {
    els.banner.hidden = true;
  } else {
    els.bannerText.textContent = `Cannot reach the server at ${location.host}. Check that it is running and that this computer is online — retrying automatically.`;
    els.bannerRetry.hidden = false;
    els.banner.hidden = false;
  }
  updateButtons();
}

els.bannerRetry.addEventListener('click', () => {
  liveEvents.reconnectNow();
  void refreshList();
});

/**
 * @param {'connecting' | 'live' | 'offline'} kind
 * @param {string} text
 */
function setConnection(kind, text) {
  els.connection.dataset.state = kind;
  els.connectionText.textContent = text;
}

// ------------------------------------------------------------------------------------------ camera

function loadSettings() {
  try {
    /** @type {unknown} */
    const saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) || '{}');
    if (!saved || typeof saved !== 'object') return;
    if ('resolution' in saved && typeof saved.resolution === 'string') els.resolution.value = saved.resolution;
    if ('codec' in saved && typeof saved.codec === 'string') els.codec.value = saved.codec;
  } catch {
    // unreadable settings: the defaults stay
  }
}

function saveSettings() {
  localStorage.setItem(
    SETTINGS_KEY,
    JSON.stringify({ camera: els.camera.value, microphone: els.microphone.value, resolution: els.resolution.value, codec: els.codec.value }),
  );
}

/** @returns {MediaStreamConstraints} */
function constraints() {
  const [width, height] = els.resolution.value.split('x').map(Number);
  return {
    video: {
      ...(els.camera.value ? { deviceId: { exact: els.camera.value } } : {}),
      width: { ideal: width },
      height: { ideal: height },
      frameRate: { ideal: 30 },
    },
    audio: {
      ...(els.microphone.value ? { deviceId: { exact: els.microphone.value } } : {}),
      echoCancellation: true,
      noiseSuppression: true,
    },
  };
}

/** (Re)starts the camera with the chosen devices and resolution. */
async function startCamera() {
  state.cameraReady = false;
  updateButtons();
  if (!navigator.mediaDevices?.getUserMedia) {
    showCameraProblem('This browser cannot use the camera here. Open the page over HTTPS (or on localhost) in a current browser.');
    return;
  }
  for (const track of state.stream?.getTracks() ?? []) track.stop();
  state.stream = null;
  els.placeholder.hidden = false;
  els.placeholderText.textContent = 'Starting camera…';
  try {
    state.stream = await navigator.mediaDevices.getUserMedia(constraints());
  } catch (err) {
    if (errorName(err) === 'OverconstrainedError') {
      // the saved device is gone: fall back to the default ones
      els.camera.value = '';
      els.microphone.value = '';
      try {
        state.stream = await navigator.mediaDevices.getUserMedia(constraints());
      } catch (again) {
        showCameraProblem(cameraErrorText(again));
        return;
      }
    } else {
      showCameraProblem(cameraErrorText(err));
      return;
    }
  }
  els.preview.srcObject = state.stream;
  els.placeholder.hidden = true;
  state.cameraReady = true;
  if (els.message.dataset.kind === 'camera') clearMessage();
  await listDevices();
  setStatus(state.phase === 'idle' ? 'Ready to record' : els.status.textContent);
  updateButtons();
}

/** @param {string} text */
function showCameraProblem(text) {
  els.placeholder.hidden = false;
  els.placeholderText.textContent = 'Camera unavailable';
  showMessage(text);
  els.message.dataset.kind = 'camera';
  setStatus('Camera unavailable');
  updateButtons();
}

async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  /**
   * @param {HTMLSelectElement} select
   * @param {MediaDeviceKind} kind
   * @param {string} fallback
   */
  const fill = (select, kind, fallback) => {
    const current = state.stream
      ?.getTracks()
      .find((t) => t.kind === (kind === 'videoinput' ? 'video' : 'audio'))
      ?.getSettings().deviceId;
    const wanted = select.value || current || '';
    select.replaceChildren();
    const found = devices.filter((d) => d.kind === kind);
    found.forEach((device, index) => {
      const option = document.createElement('option');
      option.value = device.deviceId;
      option.textContent = device.label || `${fallback} ${index + 1}`;
      select.append(option);
    });
    if (found.some((d) => d.deviceId === wanted)) select.value = wanted;
    select.disabled = found.length === 0;
  };
  fill(els.camera, 'videoinput', 'Camera');
  fill(els.microphone, 'audioinput', 'Microphone');
}

for (const select of [els.camera, els.microphone, els.resolution]) {
  select.addEventListener('change', () => {
    saveSettings();
    void startCamera();
  });
}
els.codec.addEventListener('change', saveSettings);
navigator.mediaDevices?.addEventListener?.('devicechange', () => void listDevices());

// --------------------------------------------------------------------------------------------- WHIP

/** Publishes the camera to the server (WHIP, RFC 9725) and waits until media flows. */
async function publish() {
  const stream = state.stream;
  if (!stream) throw new Error('The camera is not running.');
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  state.pc = pc;
  pc.addEventListener('connectionstatechange', () => {
    if (pc !== state.pc) return;
    if (pc.connectionState === 'failed' || pc.connectionState === 'disconnected') onMediaLost();
  });
  await publishStream(pc, stream, {
    videoCodec: els.codec.value,
    codecLabel: els.codec.selectedOptions[0]?.textContent ?? els.codec.value,
    maintainResolution: true,
    post: async (offer) => {
      const response = await api('/whip', { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: offer });
      const location = response.headers.get('location');
      if (!location) throw new Error('The server did not name the session.');
      state.sessionUrl = new URL(location, window.location.href).pathname;
      state.sessionId = state.sessionUrl.split('/').pop() ?? null;
      return { location, answer: await response.text() };
    },
  });
  await connected(pc, 15000);
}

/** Ends the WHIP session (the server finalizes a recording still running) and the peer connection. */
async function unpublish() {
  const url = state.sessionUrl;
  state.sessionUrl = null;
  state.sessionId = null;
  const pc = state.pc;
  state.pc = null;
  // DELETE before closing the connection: media notices a closed connection within milliseconds and ends
  // the session itself, and the DELETE would then find nothing to end
  if (url) await api(url, { method: 'DELETE' }).catch(() => undefined);
  pc?.close();
}

function onMediaLost() {
  if (state.phase === 'recording' || state.phase === 'starting') {
    showMessage('The media connection to the server was lost. The recording is being saved.');
  }
}

// When the page goes away the session must end, or the server keeps it until ICE times out.
window.addEventListener('pagehide', () => {
  if (!state.sessionUrl) return;
  fetch(state.sessionUrl, { method: 'DELETE', keepalive: true, headers: authHeaders() }).catch(() => undefined);
});

// ---------------------------------------------------------------------------------------- recording

function updateButtons() {
  const busy = state.phase === 'publishing' || state.phase === 'starting' || state.phase === 'stopping';
  els.record.disabled = !state.cameraReady || state.phase !== 'idle';
  els.stop.disabled = !(state.phase === 'starting' || state.phase === 'recording');
  for (const select of [els.camera, els.microphone, els.resolution, els.codec])
    select.disabled = state.phase !== 'idle' || (select.options.length === 0 && select !== els.codec);
  els.record.classList.toggle('is-busy', busy && state.phase !== 'stopping');
  els.recBadge.hidden = !(state.phase === 'recording' || state.phase === 'starting' || state.phase === 'stopping');
  els.recBadge.dataset.phase = state.phase;
  document.body.dataset.phase = state.phase;
}

/** @param {Phase} phase */
function setPhase(phase) {
  state.phase = phase;
  updateButtons();
}

function startTimer() {
  state.recordingSince = Date.now();
  clearInterval(state.timer);
  const tick = () => {
    const text = formatClock(Date.now() - state.recordingSince);
    els.elapsed.textContent = text;
    els.recBadgeText.textContent = `REC ${text}`;
  };
  tick();
  state.timer = setInterval(tick, 250);
}

function stopTimer() {
  clearInterval(state.timer);
  state.timer = undefined;
}

/** The server says the recording is really running (first keyframe written): the clock starts now. */
function onRecordingLive() {
  if (state.phase !== 'starting') return;
  setPhase('recording');
  setStatus('Recording');
  startTimer();
}

async function record() {
  if (state.phase !== 'idle') return;
  clearMessage();
  els.elapsed.textContent = '00:00';
  try {
    setPhase('publishing');
    setStatus('Connecting to the server…');
    if (!state.pc || state.pc.connectionState !== 'connected') {
      await unpublish();
      await publish();
    }
    setPhase('starting');
    setStatus('Starting the recording…');
    els.recBadgeText.textContent = 'STARTING';
    /** @type {RecordingView} */
    const recording = await apiJson(`/api/sessions/${state.sessionId}/recordings`, { method: 'POST' });
    state.recordingId = recording.id;
    upsertRecording(recording);
    if (recording.status === 'recording') onRecordingLive();
    else void followStart(recording.id);
    void describeSession();
  } catch (err) {
    setPhase('idle');
    setStatus(state.cameraReady ? 'Ready to record' : 'Camera unavailable');
    showMessage(describeError(err));
    await unpublish();
  }
}
// record() reports its own failures on the page
els.record.addEventListener('click', () => void record());

/**
 * The live events say when the recording really runs. Only while they are not connected does the page
 * ask instead, so the clock still starts.
 */
/** @param {string} id */
async function followStart(id) {
  while (state.phase === 'starting' && state.recordingId === id) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (els.connection.dataset.state === 'live' || state.phase !== 'starting') continue;
    try {
      upsertRecording(/** @type {RecordingView} */ (await apiJson(`/api/recordings/${encodeURIComponent(id)}`)));
    } catch {
      // the banner already says when the server is unreachable
    }
  }
}

/** Shows which codecs the server negotiated, once it knows. */
async function describeSession() {
  if (!state.sessionId) return;
  try {
    /** @type {PublisherSession} */
    const session = await apiJson(`/api/sessions/${state.sessionId}`);
    const codecs = session.tracks.map((t) => t.codec.toUpperCase()).join(' + ');
    if (state.phase === 'starting' || state.phase === 'recording') els.status.title = `Sending ${codecs}`;
  } catch {
    // informational only
  }
}

async function stop() {
  if (state.phase !== 'recording' && state.phase !== 'starting') return;
  const id = state.recordingId;
  setPhase('stopping');
  stopTimer();
  setStatus('Saving the recording…');
  els.recBadgeText.textContent = 'SAVING';
  try {
    /** @type {RecordingView} */
    const recording = await apiJson(`/api/recordings/${id}/stop`, { method: 'POST' });
    upsertRecording(recording);
    if (recording.status === 'done') {
      showMessage(`Saved: ${formatClock(recording.durationMs ?? 0)}, ${formatSize(recording.sizeBytes)}.`, 'success');
    } else {
      showMessage(`The recording failed: ${recording.error?.message ?? 'unknown reason'}.`);
    }
  } catch (err) {
    showMessage(describeError(err));
  } finally {
    state.recordingId = null;
    setPhase('idle');
    setStatus(state.cameraReady ? 'Ready to record' : 'Camera unavailable');
    // one session per recording: the next Record publishes again with the settings of that moment
    await unpublish();
  }
}
// stop() reports its own failures on the page
els.stop.addEventListener('click', () => void stop());

// ------------------------------------------------------------------------------------- the library

const dateFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/**
 * An element of a recording's item, by class (the template has them all).
 * @template {HTMLElement} [E=HTMLElement]
 * @param {Element} item
 * @param {string} className
 * @returns {E}
 */
function part(item, className) {
  const el = item.querySelector(`.${className}`);
  if (!el) throw new Error(`the recording template has no .${className}`);
  return /** @type {E} */ (el);
}

/**
 * @param {HTMLElement} item
 * @param {RecordingView} recording
 */
function renderRecording(item, recording) {
  item.dataset.recordingId = recording.id;
  item.dataset.status = recording.status;
  part(item, 'recording-name').textContent = dateFormat.format(new Date(recording.createdAt));
  const badge = part(item, 'state');
  badge.textContent = STATE_TEXT[recording.status] ?? recording.status;
  badge.dataset.status = recording.status;

  const meta = [];
  if (recording.durationMs !== null) meta.push(formatClock(recording.durationMs));
  if (recording.sizeBytes !== null) meta.push(formatSize(recording.sizeBytes));
  const tracks = describeTracks(recording);
  if (tracks) meta.push(tracks);
  meta.push(recording.container.toUpperCase());
  part(item, 'recording-meta').textContent = meta.join('  ·  ');

  const error = part(item, 'recording-error');
  const notice = recording.error?.message ?? fileCheckNotice(recording) ?? lossNotice(recording);
  error.hidden = !notice;
  error.textContent = notice ?? '';

  const finished = recording.status === 'done';
  // a short-lived signed URL from the server: a <video src> or a link cannot carry the token in a header,
  // and a long-lived token must not sit in a URL
  /** @type {HTMLAnchorElement} */
  const download = part(item, 'download');
  download.hidden = !finished;
  download.href = `${recording.mediaUrl}&download=1`;
  download.setAttribute('download', recording.fileName);
  /** @type {HTMLVideoElement} */
  const player = part(item, 'player');
  player.hidden = !finished;
  const thumbState = part(item, 'thumb-state');
  thumbState.hidden = finished;
  thumbState.textContent = recording.status === 'failed' ? 'No video' : `${STATE_TEXT[recording.status] ?? recording.status}…`;
  thumbState.dataset.status = recording.status;
  // every update brings a fresh signature: the player keeps the URL it loaded until that one fails
  if (finished && !player.dataset.src) {
    player.dataset.src = recording.mediaUrl;
    player.src = recording.mediaUrl;
  }
}

/**
 * A fresh signed URL of a recording's file (the one the page holds may have expired), or null.
 * @param {string | undefined} id
 * @returns {Promise<string | null>}
 */
async function freshMediaUrl(id) {
  if (!id) return null;
  try {
    /** @type {RecordingView} */
    const recording = await apiJson(`/api/recordings/${encodeURIComponent(id)}`);
    return recording.mediaUrl;
  } catch {
    // the list shows the error state of the recording on its next update
    return null;
  }
}

/** @param {RecordingView} recording */
function upsertRecording(recording) {
  const known = state.recordings.get(recording.id);
  // events and list answers can cross: never go back to an older version of an entry
  if (known && known.updatedAt > recording.updatedAt) return;
  state.recordings.set(recording.id, recording);
  /** @type {HTMLElement | null} */
  let item = els.list.querySelector(`[data-recording-id="${CSS.escape(recording.id)}"]`);
  if (!item) {
    const created = /** @type {HTMLElement} */ (els.itemTemplate.content.firstElementChild?.cloneNode(true));
    item = created;
    part(created, 'delete').addEventListener('click', () => void deleteRecording(created.dataset.recordingId));
    /** @type {HTMLVideoElement} */
    const player = part(created, 'player');
    player.addEventListener('error', () => {
      // once per loaded URL: a file that cannot play at all must not loop
      if (player.dataset.refreshed === player.dataset.src) return;
      player.dataset.refreshed = player.dataset.src;
      void freshMediaUrl(created.dataset.recordingId).then((url) => {
        if (!url) return;
        const position = player.currentTime;
        player.dataset.src = url;
        player.src = url;
        if (position > 0) player.currentTime = position;
      });
    });
    part(created, 'download').addEventListener('click', (event) => {
      // an old page may hold an expired link: fetch a fresh one, then follow it
      event.preventDefault();
      void (async () => {
        const url = await freshMediaUrl(created.dataset.recordingId);
        /** @type {HTMLAnchorElement} */
        const link = part(created, 'download');
        if (url) link.href = `${url}&download=1`;
        const a = document.createElement('a');
        a.href = link.href;
        a.download = link.getAttribute('download') ?? '';
        a.click();
      })();
    });
    insertSorted(item, recording);
  }
  renderRecording(item, recording);
  updateCount();
  if (recording.id === state.recordingId) {
    if (recording.status === 'recording') onRecordingLive();
    if ((recording.status === 'done' || recording.status === 'failed') && (state.phase === 'recording' || state.phase === 'starting')) {
      // ended without our Stop (the server or the connection ended it)
      stopTimer();
      state.recordingId = null;
      setPhase('idle');
      setStatus('Ready to record');
      showMessage(
        recording.status === 'done' ? endedByServerText(recording.stopReason) : `The recording failed: ${recording.error?.message ?? 'unknown reason'}.`,
      );
      void unpublish();
    }
  }
}

/**
 * @param {HTMLElement} item
 * @param {RecordingView} recording
 */
function insertSorted(item, recording) {
  const after = [...els.list.children].find(
    (other) => (state.recordings.get(/** @type {HTMLElement} */ (other).dataset.recordingId ?? '')?.createdAt ?? '') < recording.createdAt,
  );
  els.list.insertBefore(item, after ?? null);
}

/** @param {string} id */
function removeRecording(id) {
  state.recordings.delete(id);
  els.list.querySelector(`[data-recording-id="${CSS.escape(id)}"]`)?.remove();
  updateCount();
}

function updateCount() {
  const n = state.recordings.size;
  els.count.textContent = n === 0 ? '' : `${n}`;
  els.empty.hidden = n > 0;
}

/** @param {string | undefined} id */
async function deleteRecording(id) {
  if (!id) return;
  const recording = state.recordings.get(id);
  if (!recording) return;
  const running = recording.status !== 'done' && recording.status !== 'failed';
  if (!confirm(running ? 'This recording is still running. Stop and delete it?' : 'Delete this recording? This cannot be undone.')) return;
  try {
    await api(`/api/recordings/${encodeURIComponent(id)}`, { method: 'DELETE' });
    removeRecording(id);
  } catch (err) {
    showMessage(describeError(err));
  }
}

async function refreshList() {
  try {
    /** @type {RecordingView[]} */
    const recordings = await apiJson('/api/recordings');
    const ids = new Set(recordings.map((r) => r.id));
    for (const id of [...state.recordings.keys()]) if (!ids.has(id)) removeRecording(id);
    for (const recording of recordings) upsertRecording(recording);
  } catch (err) {
    if (!(err instanceof UnreachableError)) showMessage(describeError(err));
  }
}

// ------------------------------------------------------------------------------------- live events

const liveEvents = createLiveEvents({
  token: () => state.token,
  connection: setConnection,
  reachable: setReachable,
  askForToken,
  onMessage(message) {
    if (message.type === 'ready') {
      // whatever happened while we were away
      void refreshList();
    } else if (message.type === 'recording') {
      upsertRecording(message.recording);
    } else if (message.type === 'recording-deleted') {
      removeRecording(message.id);
    } else if (message.type === 'session' && message.event.type === 'closed' && message.event.sessionId === state.sessionId) {
      if (state.phase === 'recording' || state.phase === 'starting') showMessage('The server closed the media session.');
    }
  },
});

// -------------------------------------------------------------------------------------------- start

loadSettings();
updateButtons();
setStatus('Preparing…');
void startCamera();
void refreshList();
liveEvents.connect();
