import { Direction, Setup } from 'semantic-sdp';

// semantic-sdp declares its enums as `any` (its JSDoc @enum does not survive into the .d.ts); these are the
// members this service uses, with the numbers they are, so a typo is a compile error and no `any` spreads.

/** a=sendrecv / sendonly / recvonly / inactive */
export const SdpDirection = Direction as { readonly SENDRECV: number; readonly SENDONLY: number; readonly RECVONLY: number; readonly INACTIVE: number };

/** a=setup (DTLS role) */
export const DtlsSetup = Setup as { readonly ACTIVE: number; readonly PASSIVE: number; readonly ACTPASS: number; readonly INACTIVE: number };
