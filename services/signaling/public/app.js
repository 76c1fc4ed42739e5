// The recorder page: camera preview, publishing over WHIP, recording control, and the live list of
// recordings. Plain browser JavaScript, no build step. Talks only to the server that served it.

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
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

/** What the page is doing; only one transition runs at a time. */
const state = {
  /** @type {'idle'|'publishing'|'starting'|'recording'|'stopping'} */
  phase: 'idle',
  /** @type {MediaStream|null} */
  stream: null,
  /** @type {RTCPeerConnection|null} */
  pc: null,
  /** @type {string|null} the WHIP session resource, e.g. /whip/ses_... */
  sessionUrl: null,
  sessionId: null,
  /** @type {string|null} */
  recordingId: null,
  recordingSince: 0,
  timer: 0,
  /** @type {Map<string, any>} recordings by id */
  recordings: new Map(),
  // the browser session's copy first; localStorage only holds it when the person asked to be remembered
  token: sessionStorage.getItem(TOKEN_KEY) || localStorage.getItem(TOKEN_KEY) || '',
  serverReachable: true,
  cameraReady: false,
};

// ---------------------------------------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

class UnreachableError extends Error {}

function authHeaders() {
  return state.token ? { authorization: `Bearer ${state.token}` } : {};
}


/**
 * One API call. A 401 asks the person for the token and tries again; a network failure becomes an
 * UnreachableError (the server is down or the network is), anything else an ApiError with the code.
 */
async function api(path, init = {}) {
  for (;;) {
    let response;
    try {
      response = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers || {}) } });
    } catch (cause) {
      setReachable(false);
      throw new UnreachableError('The server cannot be reached.', { cause });
    }
    setReachable(true);
    if (response.status === 401) {
      await askForToken(Boolean(state.token));
      continue;
    }
    if (!response.ok) {
      let code = 'INTERNAL';
      let message = `The server answered ${response.status}.`;
      try {
        const body = await response.json();
        code = body.error?.code ?? code;
        message = body.error?.message ?? message;
      } catch {
        // not JSON (a proxy error page): keep the generic words
      }
      throw new ApiError(response.status, code, message);
    }
    return response;
  }
}

async function apiJson(path, init) {
  return (await api(path, init)).json();
}

// ------------------------------------------------------------------------------------------- token

let tokenPrompt = null;

/** Shows the token dialog once, however many calls are waiting for it. */
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

function setStatus(text) {
  els.status.textContent = text;
}

function showMessage(text, kind = 'error') {
  els.message.textContent = text;
  els.message.dataset.kind = kind;
  els.message.hidden = !text;
}

function clearMessage() {
  showMessage('');
}

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

function setConnection(kind, text) {
  els.connection.dataset.state = kind;
  els.connectionText.textContent = text;
}

/** Words a person can act on, for the codes the API answers with. */
function describeError(err) {
  if (err instanceof UnreachableError) return `Cannot reach the server at ${location.host}. Check that it is running, then try again.`;
  if (err instanceof ApiError) {
    switch (err.code) {
      case 'ALREADY_RECORDING':
        return 'This camera is already being recorded.';
      case 'MEDIA_UNAVAILABLE':
        return 'The media server is not available right now. Try again in a moment.';
      case 'RECORDER_UNAVAILABLE':
        return 'No recorder is available right now. Try again in a moment.';
      case 'AT_CAPACITY':
      case 'NO_FREE_PORTS':
      case 'PORT_IN_USE':
        return 'The server is busy with other recordings. Try again in a minute.';
      case 'INSUFFICIENT_STORAGE':
        return 'The server has no disk space left for another recording. Delete old recordings or ask the operator for room.';
      case 'RATE_LIMITED':
        return 'Too many requests in a short time. Wait a few seconds and try again.';
      case 'TIMEOUT':
        return 'The server took too long to answer. Try again.';
      case 'UNSUPPORTED_FORMAT':
      case 'UNSUPPORTED_CODEC':
        return `${err.message}. Choose another codec.`;
      case 'NO_SUCH_SESSION':
        return 'The connection to the server ended. Press Record to start again.';
      case 'SHUTTING_DOWN':
        return 'The server is restarting. Try again in a moment.';
      default:
        return `Something went wrong: ${err.message}`;
    }
  }
  if (err && err.name === 'NotAllowedError') return cameraDeniedText();
  return `Something went wrong: ${err && err.message ? err.message : String(err)}`;
}

/** Why the server ended a recording nobody stopped, in words. */
function endedByServerText(stopReason) {
  switch (stopReason) {
    case 'disk-full':
      return 'The server ran low on disk space, so it ended the recording and saved it.';
    case 'max-size':
      return 'The recording reached the largest file size the server allows; it was ended and saved.';
    case 'max-duration':
      return 'The recording reached the longest duration the server allows; it was ended and saved.';
    default:
      return 'The recording was ended by the server and saved.';
  }
}

function cameraDeniedText() {
  return 'Camera and microphone access was blocked. Allow access for this site in your browser (the camera icon in the address bar), then reload the page.';
}

// ------------------------------------------------------------------------------------------ camera

function loadSettings() {
  try {
    const saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) || '{}');
    if (saved.resolution) els.resolution.value = saved.resolution;
    if (saved.codec) els.codec.value = saved.codec;
    return saved;
  } catch {
    return {};
  }
}

function saveSettings() {
  localStorage.setItem(
    SETTINGS_KEY,
    JSON.stringify({ camera: els.camera.value, microphone: els.microphone.value, resolution: els.resolution.value, codec: els.codec.value }),
  );
}

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
    if (err && err.name === 'OverconstrainedError') {
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

function cameraErrorText(err) {
  switch (err && err.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return cameraDeniedText();
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera or microphone was found. Connect one and reload the page.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera or microphone is in use by another application. Close it and reload the page.';
    default:
      return `The camera could not be started: ${err && err.message ? err.message : String(err)}`;
  }
}

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
  const fill = (select, kind, fallback) => {
    const current = state.stream?.getTracks().find((t) => t.kind === (kind === 'videoinput' ? 'video' : 'audio'))?.getSettings().deviceId;
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

/** Puts the chosen codec first (for H264 the packetization-mode=1 variants), keeping the rest as fallbacks. */
function preferCodec(transceiver, codec) {
  if (!RTCRtpSender.getCapabilities || !transceiver.setCodecPreferences) return;
  const all = RTCRtpSender.getCapabilities('video')?.codecs ?? [];
  const mime = `video/${codec === 'h264' ? 'H264' : codec.toUpperCase()}`;
  const chosen = all.filter((c) => c.mimeType.toLowerCase() === mime.toLowerCase());
  if (chosen.length === 0) throw new Error(`This browser cannot send ${els.codec.selectedOptions[0]?.textContent ?? codec} video. Choose another codec.`);
  const score = (c) => (/packetization-mode=1/.test(c.sdpFmtpLine ?? '') ? 0 : 1) + (/profile-level-id=42e01f/.test(c.sdpFmtpLine ?? '') ? 0 : 0.5);
  chosen.sort((a, b) => score(a) - score(b));
  const rest = all.filter((c) => !chosen.includes(c));
  transceiver.setCodecPreferences([...chosen, ...rest]);
}

function iceGatheringDone(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', done);
      clearTimeout(timer);
      resolve();
    };
    // the server does not take trickled candidates: send what we have after a while in any case
    const timer = setTimeout(() => {
      pc.removeEventListener('icegatheringstatechange', done);
      resolve();
    }, timeoutMs);
    pc.addEventListener('icegatheringstatechange', done);
  });
}

function connected(pc, timeoutMs) {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (pc.connectionState === 'connected') finish(resolve);
      else if (pc.connectionState === 'failed' || pc.connectionState === 'closed') finish(() => reject(new Error('The media connection to the server failed. A firewall may block UDP.')));
    };
    const timer = setTimeout(() => finish(() => reject(new Error('The media connection to the server could not be established in time. A firewall may block UDP.'))), timeoutMs);
    const finish = (then) => {
      clearTimeout(timer);
      pc.removeEventListener('connectionstatechange', check);
      then();
    };
    pc.addEventListener('connectionstatechange', check);
    check();
  });
}

/** Asks the encoder to keep the full capture resolution; browsers without the setting keep their default. */
async function keepResolution(sender) {
  try {
    const params = sender.getParameters();
    params.degradationPreference = 'maintain-resolution';
    for (const encoding of params.encodings ?? []) encoding.scaleResolutionDownBy = 1;
    await sender.setParameters(params);
  } catch {
    // not supported (or not before negotiation): contentHint 'detail' asks for the same
  }
}

/** Publishes the camera to the server (WHIP, RFC 9725) and waits until media flows. */
async function publish() {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  state.pc = pc;
  for (const track of state.stream.getTracks()) {
    if (track.kind === 'video') {
      // a recording should look like the camera: by default Chromium starts small and scales up with its
      // bandwidth estimate and QP, so short recordings are all ramp. 'detail' (and maintain-resolution
      // below) make it keep the capture resolution and give up frame rate or quality instead.
      track.contentHint = 'detail';
    }
    const init = { direction: 'sendonly', streams: [state.stream] };
    if (track.kind === 'video') init.sendEncodings = [{ scaleResolutionDownBy: 1 }];
    const transceiver = pc.addTransceiver(track, init);
    if (track.kind === 'video') {
      preferCodec(transceiver, els.codec.value);
      await keepResolution(transceiver.sender);
    }
  }
  pc.addEventListener('connectionstatechange', () => {
    if (pc !== state.pc) return;
    if (pc.connectionState === 'failed' || pc.connectionState === 'disconnected') onMediaLost();
  });
  await pc.setLocalDescription(await pc.createOffer());
  await iceGatheringDone(pc, 2000);
  const response = await api('/whip', { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription.sdp });
  const location = response.headers.get('location');
  if (!location) throw new Error('The server did not name the session.');
  state.sessionUrl = new URL(location, window.location.href).pathname;
  state.sessionId = state.sessionUrl.split('/').pop();
  await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
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
  for (const select of [els.camera, els.microphone, els.resolution, els.codec]) select.disabled = state.phase !== 'idle' || (select.options.length === 0 && select !== els.codec);
  els.record.classList.toggle('is-busy', busy && state.phase !== 'stopping');
  els.recBadge.hidden = !(state.phase === 'recording' || state.phase === 'starting' || state.phase === 'stopping');
  els.recBadge.dataset.phase = state.phase;
  document.body.dataset.phase = state.phase;
}

function setPhase(phase) {
  state.phase = phase;
  updateButtons();
}

function formatClock(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
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
  state.timer = 0;
}

/** The server says the recording is really running (first keyframe written): the clock starts now. */
function onRecordingLive() {
  if (state.phase !== 'starting') return;
  setPhase('recording');
  setStatus('Recording');
  startTimer();
}

els.record.addEventListener('click', async () => {
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
});

/**
 * The live events say when the recording really runs. Only while they are not connected does the page
 * ask instead, so the clock still starts.
 */
async function followStart(id) {
  while (state.phase === 'starting' && state.recordingId === id) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (els.connection.dataset.state === 'live' || state.phase !== 'starting') continue;
    try {
      upsertRecording(await apiJson(`/api/recordings/${encodeURIComponent(id)}`));
    } catch {
      // the banner already says when the server is unreachable
    }
  }
}

/** Shows which codecs the server negotiated, once it knows. */
async function describeSession() {
  if (!state.sessionId) return;
  try {
    const session = await apiJson(`/api/sessions/${state.sessionId}`);
    const codecs = session.tracks.map((t) => t.codec.toUpperCase()).join(' + ');
    if (state.phase === 'starting' || state.phase === 'recording') els.status.title = `Sending ${codecs}`;
  } catch {
    // informational only
  }
}

els.stop.addEventListener('click', async () => {
  if (state.phase !== 'recording' && state.phase !== 'starting') return;
  const id = state.recordingId;
  setPhase('stopping');
  stopTimer();
  setStatus('Saving the recording…');
  els.recBadgeText.textContent = 'SAVING';
  try {
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
});

// ------------------------------------------------------------------------------------- the library

function formatSize(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

const CODEC_NAMES = { h264: 'H.264', vp8: 'VP8', vp9: 'VP9', av1: 'AV1', aac: 'AAC', opus: 'Opus' };

function describeTracks(recording) {
  if (recording.tracks.length === 0) return '';
  return recording.tracks
    .map((t) => {
      const name = CODEC_NAMES[t.codec] ?? t.codec.toUpperCase();
      return t.kind === 'video' && t.width && t.height ? `${name} ${t.width}×${t.height}` : name;
    })
    .join(' · ');
}

/**
 * What the server's decode of a finished file found, when a person should know before playing it. A `done`
 * recording's fileCheck is null until the recorder's background verification has decoded it (and stays
 * null with RECORDER_VERIFY=off): nothing to warn about then; the catalog update brings the result.
 */
function fileCheckNotice(recording) {
  const check = recording.status === 'done' ? recording.fileCheck : null;
  if (!check) return null;
  if (!check.decodesCleanly && check.scope !== 'none') return 'Some frames could not be decoded (data was lost while recording): expect glitches.';
  return null;
}

/** a video that stood still this long lost frames (Chromium sends 20-30 per second, lower only under strain) */
const FROZEN_MS = 1000;

/**
 * What the recording's stats say a person should know: packets lost on the way beyond what retransmissions
 * brought back (frames were damaged or dropped), or a stretch of the file without frames.
 */
function lossNotice(recording) {
  const stats = recording.status === 'done' ? recording.stats : null;
  if (!stats) return null;
  const unrepaired = (stats.packetsLost ?? 0) - (stats.packetsRetransmitted ?? 0);
  if (unrepaired > 0) return `${stats.packetsLost} packets were lost on the way (${stats.packetsRetransmitted ?? 0} retransmitted): some frames may be damaged or missing.`;
  const hasVideo = recording.tracks.some((t) => t.kind === 'video');
  if (hasVideo && (stats.longestGapMs ?? 0) >= FROZEN_MS) return `The video has a gap of ${(stats.longestGapMs / 1000).toFixed(1)} s without frames.`;
  return null;
}

const STATE_TEXT = { starting: 'Starting', recording: 'Recording', stopping: 'Saving', done: 'Ready', failed: 'Failed' };
const dateFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

function renderRecording(item, recording) {
  item.dataset.recordingId = recording.id;
  item.dataset.status = recording.status;
  item.querySelector('.recording-name').textContent = dateFormat.format(new Date(recording.createdAt));
  const badge = item.querySelector('.state');
  badge.textContent = STATE_TEXT[recording.status] ?? recording.status;
  badge.dataset.status = recording.status;

  const meta = [];
  if (recording.durationMs !== null) meta.push(formatClock(recording.durationMs));
  if (recording.sizeBytes !== null) meta.push(formatSize(recording.sizeBytes));
  const tracks = describeTracks(recording);
  if (tracks) meta.push(tracks);
  meta.push(recording.container.toUpperCase());
  item.querySelector('.recording-meta').textContent = meta.join('  ·  ');

  const error = item.querySelector('.recording-error');
  const notice = recording.error?.message ?? fileCheckNotice(recording) ?? lossNotice(recording);
  error.hidden = !notice;
  error.textContent = notice ?? '';

  const finished = recording.status === 'done';
  // a short-lived signed URL from the server: a <video src> or a link cannot carry the token in a header,
  // and a long-lived token must not sit in a URL
  const download = item.querySelector('.download');
  download.hidden = !finished;
  download.href = `${recording.mediaUrl}&download=1`;
  download.setAttribute('download', recording.fileName);
  const player = item.querySelector('.player');
  player.hidden = !finished;
  const thumbState = item.querySelector('.thumb-state');
  thumbState.hidden = finished;
  thumbState.textContent = recording.status === 'failed' ? 'No video' : `${STATE_TEXT[recording.status] ?? recording.status}…`;
  thumbState.dataset.status = recording.status;
  // every update brings a fresh signature: the player keeps the URL it loaded until that one fails
  if (finished && !player.dataset.src) {
    player.dataset.src = recording.mediaUrl;
    player.src = recording.mediaUrl;
  }
}

/** A fresh signed URL of a recording's file (the one the page holds may have expired), or null. */
async function freshMediaUrl(id) {
  try {
    return (await apiJson(`/api/recordings/${encodeURIComponent(id)}`)).mediaUrl;
  } catch {
    // the list shows the error state of the recording on its next update
    return null;
  }
}

function upsertRecording(recording) {
  const known = state.recordings.get(recording.id);
  // events and list answers can cross: never go back to an older version of an entry
  if (known && known.updatedAt > recording.updatedAt) return;
  state.recordings.set(recording.id, recording);
  let item = els.list.querySelector(`[data-recording-id="${CSS.escape(recording.id)}"]`);
  if (!item) {
    item = els.itemTemplate.content.firstElementChild.cloneNode(true);
    item.querySelector('.delete').addEventListener('click', () => void deleteRecording(item.dataset.recordingId));
    const player = item.querySelector('.player');
    player.addEventListener('error', () => {
      // once per loaded URL: a file that cannot play at all must not loop
      if (player.dataset.refreshed === player.dataset.src) return;
      player.dataset.refreshed = player.dataset.src;
      void freshMediaUrl(item.dataset.recordingId).then((url) => {
        if (!url) return;
        const position = player.currentTime;
        player.dataset.src = url;
        player.src = url;
        if (position > 0) player.currentTime = position;
      });
    });
    item.querySelector('.download').addEventListener('click', (event) => {
      // an old page may hold an expired link: fetch a fresh one, then follow it
      event.preventDefault();
      void (async () => {
        const url = await freshMediaUrl(item.dataset.recordingId);
        const link = item.querySelector('.download');
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
      showMessage(recording.status === 'done' ? endedByServerText(recording.stopReason) : `The recording failed: ${recording.error?.message ?? 'unknown reason'}.`);
      void unpublish();
    }
  }
}

function insertSorted(item, recording) {
  const after = [...els.list.children].find((other) => (state.recordings.get(other.dataset.recordingId)?.createdAt ?? '') < recording.createdAt);
  els.list.insertBefore(item, after ?? null);
}

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

async function deleteRecording(id) {
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
    const recordings = await apiJson('/api/recordings');
    const ids = new Set(recordings.map((r) => r.id));
    for (const id of [...state.recordings.keys()]) if (!ids.has(id)) removeRecording(id);
    for (const recording of recordings) upsertRecording(recording);
  } catch (err) {
    if (!(err instanceof UnreachableError)) showMessage(describeError(err));
  }
}

// ------------------------------------------------------------------------------------- live events

/** GET /ws: recording changes in the order they happened; reconnects with backoff. */
const liveEvents = (() => {
  let socket = null;
  let attempt = 0;
  let timer = 0;

  const connect = () => {
    clearTimeout(timer);
    const url = new URL('/ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    setConnection('connecting', attempt === 0 ? 'Connecting…' : 'Reconnecting…');
    const ws = new WebSocket(url);
    socket = ws;
    // the token goes in the first message rather than the URL, which proxies tend to log
    ws.addEventListener('open', () => {
      if (state.token) ws.send(JSON.stringify({ type: 'auth', token: state.token }));
    });
    ws.addEventListener('message', (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === 'ready') {
        attempt = 0;
        setConnection('live', 'Live');
        setReachable(true);
        // whatever happened while we were away
        void refreshList();
      } else if (message.type === 'recording') {
        upsertRecording(message.recording);
      } else if (message.type === 'recording-deleted') {
        removeRecording(message.id);
      } else if (message.type === 'session' && message.event.type === 'closed' && message.event.sessionId === state.sessionId) {
        if (state.phase === 'recording' || state.phase === 'starting') showMessage('The server closed the media session.');
      }
    });
    ws.addEventListener('close', (event) => {
      if (socket !== ws) return;
      socket = null;
      if (event.code === 4401) {
        setConnection('offline', 'Needs token');
        void askForToken(Boolean(state.token));
        return;
      }
      attempt++;
      const delay = Math.min(15000, 500 * 2 ** Math.min(attempt, 5)) * (0.75 + Math.random() / 2);
      setConnection('offline', 'Offline — reconnecting');
      // a socket that never opened is often the server being down: check, so the banner can say so
      fetch('/healthz', { cache: 'no-store' }).then(
        () => setReachable(true),
        () => setReachable(false),
      );
      timer = setTimeout(connect, delay);
    });
  };

  return {
    connect,
    reconnectNow() {
      attempt = 0;
      const old = socket;
      socket = null;
      old?.close();
      connect();
    },
  };
})();

// -------------------------------------------------------------------------------------------- start

loadSettings();
updateButtons();
setStatus('Preparing…');
void startCamera();
void refreshList();
liveEvents.connect();
