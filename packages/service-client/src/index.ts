// Public entry of @s2s/service-client.
export { DEFAULTS, createServiceClient } from './service-client.js';
export { parseConnectTo } from './connect-to.js';
export type {
  BreakerState,
  BreakerTransition,
  CallCompleteEvent,
  CallOptions,
  CallResult,
  ConnectToRule,
  Outcome,
  RetryBudgetOptions,
  ServiceClient,
  ServiceClientOptions,
} from './types.js';
