/**
 * A cheap shape check of an SDP offer before it travels to media, which parses it for real. It catches
 * what is obviously not an offer (an empty body, JSON, a truncated upload) with a message that says
 * what is wrong, even when media is down.
 */
export type SdpCheck = { ok: true } | { ok: false; message: string };

const LINE = /^[a-z]=/;

export function checkSdpOffer(sdp: string): SdpCheck {
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines.length === 0) return { ok: false, message: 'the SDP offer is empty' };
  if (lines[0] !== 'v=0') return { ok: false, message: 'the SDP offer must start with "v=0"' };
  const bad = lines.findIndex((l) => !LINE.test(l));
  if (bad >= 0) return { ok: false, message: `line ${bad + 1} of the SDP offer is not a "<type>=<value>" line` };
  if (!lines.some((l) => l.startsWith('o='))) return { ok: false, message: 'the SDP offer has no origin ("o=") line' };
  const media = lines.filter((l) => l.startsWith('m='));
  if (media.length === 0) return { ok: false, message: 'the SDP offer has no media ("m=") section' };
  if (!media.some((l) => /^m=(audio|video) /.test(l))) return { ok: false, message: 'the SDP offer has no audio or video section' };
  return { ok: true };
}
