import type { z } from 'zod';
import { envSchema as mediaEnv } from '@recstack/media/config';
import { envSchema as recorderEnv } from '@recstack/recorder/config';
import { envSchema as signalingEnv } from '@recstack/signaling/config';

/**
 * The environment variables a service reads, taken from the schema its `src/config.ts` exports (the only
 * place a service reads process.env), with the defaults that schema applies when a variable is unset.
 */
export interface ServiceEnv {
  service: string;
  /** where the variables are defined, for messages */
  file: string;
  variables: Set<string>;
  /** the value the service uses when the variable is unset (absent: no default, or one a manifest cannot know) */
  defaults: Map<string, unknown>;
}

type EnvSchema = z.ZodObject<z.ZodRawShape>;

const SCHEMAS: Record<string, EnvSchema> = { media: mediaEnv, recorder: recorderEnv, signaling: signalingEnv };

export function readServiceEnv(service: string): ServiceEnv | undefined {
  const schema = SCHEMAS[service];
  return schema ? serviceEnvOf(service, schema) : undefined;
}

/** The variables and defaults of one environment schema. */
export function serviceEnvOf(service: string, schema: EnvSchema): ServiceEnv {
  const variables = new Set(Object.keys(schema.shape));
  const defaults = new Map<string, unknown>();
  for (const [name, field] of Object.entries(schema.shape)) {
    // a field with a default parses `undefined` to it; an optional one to undefined; a required one fails
    const unset = (field as z.ZodType).safeParse(undefined);
    if (unset.success && unset.data !== undefined) defaults.set(name, unset.data);
  }
  return { service, file: `services/${service}/src/config.ts`, variables, defaults };
}
