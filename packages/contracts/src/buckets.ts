/** JetStream buckets shared between services. Versioned like subjects. */
export const BUCKETS = {
  /** key = recording id, value = Recording (JSON) */
  recordings: 'recordings_v1',
  /** key = session id, value = PublisherSession (JSON); written by the media instance that holds it */
  sessions: 'sessions_v1',
  /** key = recording id, value = the recording's file (STORAGE=nats) */
  recordingFiles: 'recording_files_v1',
  /** key = session id, value = the principal that created it (`token:publish`, `addr:…`); written by signaling */
  sessionOwners: 'session_owners_v1',
} as const;
