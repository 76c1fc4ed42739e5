/**
 * The environment of the recorder's children (gst-launch, ffmpeg, ffprobe). They parse what the network
 * sends them, so they get only what they need to run: never the service's secrets (NATS_PASSWORD,
 * NATS_TOKEN, API tokens, ...). An allow-list, so a secret added later is not passed on by accident.
 */
const NAMES = new Set(['PATH', 'HOME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'LD_LIBRARY_PATH', 'XDG_CACHE_HOME', 'XDG_RUNTIME_DIR']);
/** GStreamer's (GST_DEBUG, GST_PLUGIN_PATH, GST_REGISTRY...), ORC's (GStreamer's SIMD code), the locale's */
const PREFIXES = ['GST_', 'ORC_', 'LC_'];

export function isChildVariable(name: string): boolean {
  return NAMES.has(name) || PREFIXES.some((p) => name.startsWith(p));
}

/** The subset of `source` (normally the service's own environment, as spawn would inherit it) a child gets. */
export function childEnvironment(source: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(source)) {
    if (value !== undefined && isChildVariable(name)) env[name] = value;
  }
  return env;
}
