import type { NatsConnection } from 'nats';
import type { RpcDescriptor, RpcReply, RpcRequest } from '@recstack/contracts';
import { ServiceError, UnavailableError, call, type CallOptions } from '@recstack/service-kit';

/**
 * service-kit's `call`, where a NATS connection that fails (closed, draining) means to signaling's caller
 * what no responders means: the service cannot be reached (its descriptor's `unavailable` code).
 */
export async function callBackend<D extends RpcDescriptor>(
  nc: NatsConnection,
  descriptor: D,
  payload: RpcRequest<D>,
  options: CallOptions<D>,
): Promise<RpcReply<D>> {
  try {
    return await call(nc, descriptor, payload, options);
  } catch (err) {
    if (err instanceof ServiceError) throw err;
    throw new UnavailableError(descriptor.unavailable, `cannot reach the ${descriptor.service} service`, { cause: err });
  }
}
