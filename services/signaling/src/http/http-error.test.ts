import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES, rpc, rpcSubject } from '@recstack/contracts';
import { BadRequestError, InvalidReplyError, RemoteError, ServiceError, TimeoutError, UnavailableError } from '@recstack/service-kit';
import {
  AlreadyRecordingError,
  ForbiddenError,
  ForeignSessionReplyError,
  InvalidOfferError,
  NoSuchRecordingError,
  NoSuchSessionError,
  RecordingDeletedError,
  TooManySessionsError,
  UnsafeFileNameError,
  UnsupportedCodecError,
  UnsupportedFormatError,
} from '../errors.js';
import { HttpError, STATUS_BY_CODE, UnauthorizedError, errorResponseBody, toHttpError } from './http-error.js';

test('every error code of the contract has an HTTP status', () => {
  for (const code of ERROR_CODES) {
    const status = STATUS_BY_CODE[code];
    assert.ok(status >= 400 && status <= 599, `${code} → ${status}`);
  }
  assert.equal(STATUS_BY_CODE.NO_SUCH_SESSION, 404);
  assert.equal(STATUS_BY_CODE.ALREADY_RECORDING, 409);
  assert.equal(STATUS_BY_CODE.PAYLOAD_TOO_LARGE, 413);
  assert.equal(STATUS_BY_CODE.UNSUPPORTED_MEDIA_TYPE, 415);
  assert.equal(STATUS_BY_CODE.RATE_LIMITED, 429);
  assert.equal(STATUS_BY_CODE.AT_CAPACITY, 503);
  assert.equal(STATUS_BY_CODE.INSUFFICIENT_STORAGE, 507);
  assert.equal(STATUS_BY_CODE.TIMEOUT, 504);
  assert.equal(STATUS_BY_CODE.INSUFFICIENT_STORAGE, 507);
  assert.equal(STATUS_BY_CODE.MISDIRECTED_REQUEST, 421);
  assert.equal(STATUS_BY_CODE.TOO_MANY_SESSIONS, 429);
});

test('client errors keep their message, server-side errors get a fixed one', () => {
  const bad = toHttpError(new RemoteError({ code: 'BAD_REQUEST', message: 'invalid SDP: no m= line' }, rpc.media.createSession.subject));
  assert.equal(bad.status, 400);
  assert.deepEqual(errorResponseBody(bad), { error: { code: 'BAD_REQUEST', message: 'invalid SDP: no m= line' } });

  const remote = toHttpError(
    new RemoteError(
      { code: 'RECORDER_FAILED', message: 'gst-launch-1.0 exited 1: /var/lib/x: permission denied' },
      rpcSubject(rpc.media.stopRecording, 'med_1'),
    ),
  );
  assert.equal(remote.status, 502);
  assert.doesNotMatch(remote.message, /gst|var|permission/);

  // a recorder's invalid reply to media, passed on by media: a bad gateway, not the client's bad request
  const relayed = toHttpError(
    new RemoteError({ code: 'INVALID_REPLY', message: 'the recorder service sent an invalid reply' }, rpcSubject(rpc.media.startRecording, 'med_1')),
  );
  assert.equal(relayed.status, 502);
  assert.deepEqual(errorResponseBody(relayed), { error: { code: 'INVALID_REPLY', message: 'a backend service sent an invalid reply' } });

  const gone = toHttpError(new UnavailableError('MEDIA_UNAVAILABLE', `no service answers on ${rpc.media.createSession.subject}`));
  assert.equal(gone.status, 503);
  assert.equal(gone.headers['retry-after'], '5');
  assert.doesNotMatch(gone.message, /media\.v1/);

  const slow = toHttpError(new TimeoutError(`no reply on ${rpc.media.createSession.subject} within 3000 ms`));
  assert.equal(slow.status, 504);
  assert.doesNotMatch(slow.message, /media\.v1/);

  const local = toHttpError(new BadRequestError('message is not valid JSON'));
  assert.equal(local.status, 400);
});

test('unknown errors are internal and never leak their message', () => {
  const err = toHttpError(new Error('ECONNREFUSED 10.0.0.7:4222 secret=hunter2'));
  assert.equal(err.status, 500);
  assert.deepEqual(errorResponseBody(err), { error: { code: 'INTERNAL', message: 'internal error' } });
  assert.ok(err.cause instanceof Error, 'the cause is kept for the log');
  assert.equal(toHttpError(new ServiceError('INTERNAL', 'db password wrong')).message, 'internal error');
});

test('an HttpError passes through with its status and headers', () => {
  const err = new HttpError(416, 'BAD_REQUEST', 'the requested range lies outside the file', { headers: { 'content-range': 'bytes */10' } });
  assert.equal(toHttpError(err), err);
  const unauthorized = new UnauthorizedError();
  assert.equal(unauthorized.status, 401);
  assert.match(unauthorized.headers['www-authenticate'] ?? '', /^Bearer/);
});

test('every 503 carries a Retry-After that fits its cause', () => {
  const full = toHttpError(
    new RemoteError({ code: 'AT_CAPACITY', message: 'this media instance holds its maximum of 2 sessions' }, rpc.media.createSession.subject),
  );
  assert.equal(full.status, 503);
  assert.equal(full.code, 'AT_CAPACITY');
  assert.equal(full.headers['retry-after'], '10');
  assert.equal(toHttpError(new RemoteError({ code: 'PORT_IN_USE', message: 'x' }, 's')).headers['retry-after'], '2');
  for (const [code, status] of Object.entries(STATUS_BY_CODE)) {
    if (status !== 503) continue;
    const seconds = Number(toHttpError(new ServiceError(code as keyof typeof STATUS_BY_CODE, 'x')).headers['retry-after']);
    assert.ok(Number.isInteger(seconds) && seconds > 0, `${code}: ${seconds}`);
  }
});

test("signaling's domain errors carry no status: the edge's table answers them", () => {
  const cases: Array<[ServiceError, number, string]> = [
    [new NoSuchSessionError(), 404, 'no such session'],
    [new NoSuchRecordingError(), 404, 'no such recording'],
    [new AlreadyRecordingError('rec_1'), 409, 'the session is already being recorded; stop that recording first'],
    [new RecordingDeletedError(), 409, 'the recording was deleted while it started'],
    [new UnsupportedCodecError('video', 'H265'), 422, "the session's video codec H265 cannot be recorded"],
    [new UnsupportedFormatError('mp4 cannot hold opus'), 400, 'mp4 cannot hold opus'],
    [new InvalidOfferError('invalid SDP: no m= line'), 400, 'invalid SDP: no m= line'],
    [new ForbiddenError(), 403, 'this token may only control the sessions it created'],
    [new InvalidReplyError('media', rpc.media.createSession.subject), 502, 'the media service sent an invalid reply'],
    [new ForeignSessionReplyError(), 502, 'the media service answered for another session'],
    [new UnsafeFileNameError('the recording has an invalid file name', { cause: new Error('../x') }), 500, 'the recording has an invalid file name'],
  ];
  for (const [err, status, message] of cases) {
    assert.ok(!('status' in err), `${err.name} has no status of its own`);
    const answer = toHttpError(err);
    assert.equal(answer.status, status, err.name);
    assert.deepEqual(errorResponseBody(answer), { error: { code: err.code, message } }, err.name);
  }
  const quota = toHttpError(new TooManySessionsError(3));
  assert.equal(quota.status, 429);
  assert.equal(quota.headers['retry-after'], '10');
});
