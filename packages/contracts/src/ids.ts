import { z } from 'zod';

/** Ids travel inside NATS subjects and URLs, so they are restricted to one safe token. */
export const IdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -');
export const IsoDateSchema = z.iso.datetime({ offset: true });
