// What services take from the kit, listed by the file that defines it; helpers not listed stay internal.
// errors.ts
export {
  BadRequestError,
  errorCodeOf,
  InvalidReplyError,
  RemoteError,
  ServiceError,
  ShuttingDownError,
  TimeoutError,
  toErrorBody,
  UnavailableError,
} from './errors.js';
// logger.ts
export { createLogger, type Logger } from './logger.js';
// config-loader.ts
export { ConfigError, env, loadEnv, natsEnvSchema, natsSettings, type NatsSettings } from './config-loader.js';
// nats-connection.ts
export { connectNats } from './nats-connection.js';
// rpc.ts
export {
  call,
  type CallObserver,
  type CallOptions,
  decodeMessage,
  encodeJson,
  gather,
  publishEvent,
  serve,
  type ServeOptions,
  subscribeEvents,
} from './rpc.js';
// lifecycle.ts
export { Lifecycle } from './lifecycle.js';
// supervised-process.ts
export { type ProcessExit, type StopStep, SupervisedProcess } from './supervised-process.js';
// restarting-process.ts
export { RestartingProcess, type RestartScheduled } from './restarting-process.js';
// ops-server.ts
export { startOpsServer } from './ops-server.js';
// metrics.ts
export { createMetricsRegistry } from './metrics.js';
// ids.ts
export { newId } from './ids.js';
// clock.ts
export { type Clock, sleep, systemClock } from './clock.js';
// load-view.ts
export { LoadView, type LoadViewOptions } from './load-view.js';
// jetstream-retry.ts
export { type JetStreamRetryOptions, retryJetStreamWrite } from './jetstream-retry.js';
