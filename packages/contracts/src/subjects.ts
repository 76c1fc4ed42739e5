/**
 * NATS subjects. The version is part of the subject so that a v2 contract can run beside v1 during a
 * rolling upgrade. Work any instance can take is sent to a queue group; work for one instance goes to a
 * subject carrying that instance's id. Request/reply subjects are used through their descriptors in rpc.ts
 * (subject, queue group and schemas together); services use these directly only for events.
 */

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** Ids become subject tokens: refuse anything that could add wildcards or extra tokens. */
export function subjectToken(id: string): string {
  if (!TOKEN.test(id)) throw new TypeError(`not a valid subject token: ${JSON.stringify(id)}`);
  return id;
}

export const QUEUE_GROUPS = {
  media: 'media-v1',
  recorder: 'recorder-v1',
} as const;

export const subjects = {
  media: {
    /** queue group `media-v1`: create a publisher session from an SDP offer */
    createSession: 'media.v1.session.create',
    /** the same request to one instance: signaling sends it to the one with the most room */
    createSessionOn: (mediaId: string) => `media.v1.${subjectToken(mediaId)}.session.create`,
    closeSession: (mediaId: string) => `media.v1.${subjectToken(mediaId)}.session.close`,
    startRecording: (mediaId: string) => `media.v1.${subjectToken(mediaId)}.recording.start`,
    stopRecording: (mediaId: string) => `media.v1.${subjectToken(mediaId)}.recording.stop`,
    /** every media instance answers (no queue group): used for readiness and discovery */
    ping: 'media.v1.ping',
  },
  recorder: {
    /** queue group `recorder-v1`: listen on the given ports and record */
    start: 'recorder.v1.start',
    /** the same request to one recorder: media sends it to the least loaded one it knows of */
    startOn: (recorderId: string) => `recorder.v1.${subjectToken(recorderId)}.start`,
    stop: (recorderId: string) => `recorder.v1.${subjectToken(recorderId)}.stop`,
    ping: 'recorder.v1.ping',
    /** one recorder's pong: media's liveness check of the recorders holding its recordings (no responders: gone) */
    pingOne: (recorderId: string) => `recorder.v1.${subjectToken(recorderId)}.ping`,
    /** a recorder shutting down announces it: media hands its recordings over to other recorders */
    draining: 'recorder.v1.draining',
    /**
     * a recorder restarted on a dead one's folder found recordings that recorder held (its children orphaned,
     * or their files left): media hands them over at once, without waiting for missed pings
     */
    lost: 'recorder.v1.lost',
  },
  events: {
    recording: (recordingId: string) => `events.v1.recording.${subjectToken(recordingId)}`,
    allRecordings: 'events.v1.recording.*',
    /** a `done` file's background verification finished (one token more: `allRecordings` does not match it) */
    recordingVerified: (recordingId: string) => `events.v1.recording.verified.${subjectToken(recordingId)}`,
    allRecordingVerifications: 'events.v1.recording.verified.*',
    session: (sessionId: string) => `events.v1.session.${subjectToken(sessionId)}`,
    allSessions: 'events.v1.session.*',
  },
} as const;
