import { z } from 'zod';
import { natsInboxPrefix, type NatsService } from '@recstack/contracts';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses environment variables with a schema whose keys are the variable names. Every problem is
 * reported at once, by variable name, so a misconfigured deployment fails at start with one clear message.
 */
export function loadEnv<S extends z.ZodObject>(schema: S, env: Record<string, string | undefined>): z.infer<S> {
  const present: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') present[key] = value;
  }
  const parsed = schema.safeParse(present);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const key = issue.path.join('.') || '(environment)';
      const shown = typeof issue.path[0] === 'string' && present[issue.path[0]] !== undefined ? ` (got ${JSON.stringify(present[issue.path[0]])})` : '';
      return `${key}: ${issue.message}${shown}`;
    }),
  );
}

const BYTE_UNITS: Record<string, number> = { '': 1, ki: 2 ** 10, mi: 2 ** 20, gi: 2 ** 30, ti: 2 ** 40 };

/**
 * A byte count: an integer, or one with a binary suffix as Kubernetes writes them (`512Mi`, `10Gi`, `1Ti`).
 * Decimal suffixes (`10G`) are refused rather than guessed at.
 */
function byteCount(fallback: number) {
  return z
    .string()
    .regex(/^\d+(Ki|Mi|Gi|Ti)?$/, 'must be a byte count: an integer, optionally with Ki, Mi, Gi or Ti')
    .transform((v) => {
      const [, digits = '0', unit = ''] = /^(\d+)(\w*)$/.exec(v) ?? [];
      return Number(digits) * (BYTE_UNITS[unit.toLowerCase()] ?? 1);
    })
    .pipe(z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER))
    .default(fallback);
}

/** Building blocks for config schemas, so every service reads env values the same way. */
export const env = {
  bytes: byteCount,
  port: (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback),
  int: (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).default(fallback),
  seconds: (fallback: number) => z.coerce.number().positive().default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .transform((v) => v === 'true' || v === '1' || v === 'yes')
      .default(fallback),
  string: (fallback: string) => z.string().min(1).default(fallback),
  optionalString: () => z.string().min(1).optional(),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  natsUrl: () => z.string().min(1).default('nats://127.0.0.1:4222'),
};

/** The NATS connection settings every service reads (NATS_URL, NATS_USER, NATS_PASSWORD, NATS_TOKEN). */
export const natsEnvSchema = z.object({
  NATS_URL: env.natsUrl(),
  NATS_USER: env.optionalString(),
  NATS_PASSWORD: env.optionalString(),
  NATS_TOKEN: env.optionalString(),
});

export interface NatsSettings {
  servers: string[];
  user?: string | undefined;
  pass?: string | undefined;
  token?: string | undefined;
  /** where this connection's inboxes live (see natsInboxPrefix): the server lets each user read only its own */
  inboxPrefix?: string | undefined;
}

/** `service`: the stack's service connecting, which keeps its inboxes under its own prefix (nats-permissions.ts). */
export function natsSettings(values: z.infer<typeof natsEnvSchema>, service?: NatsService): NatsSettings {
  return {
    ...(service ? { inboxPrefix: natsInboxPrefix(service) } : {}),
    servers: values.NATS_URL.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    user: values.NATS_USER,
    pass: values.NATS_PASSWORD,
    token: values.NATS_TOKEN,
  };
}
