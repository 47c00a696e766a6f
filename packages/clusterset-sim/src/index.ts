export {
  ClusterSet,
  DEFAULT_STATE_ROOT,
  PRODUCER_REPLICAS,
  assertCanSimulate,
  downClusterSet,
  upClusterSet,
} from './clusterset.js';
export type {
  AppLaunch,
  ClusterSetOptions,
  DownOptions,
  ProcessName,
  ProcessStatus,
} from './clusterset.js';
export type { EndpointStatus } from './clusterset-balancer.js';
export type { CutMode, LinkState, LinkStats } from './link-shaper.js';
export {
  CALLER_CLUSTER,
  CLUSTERSET_HOST,
  PRODUCER_CLUSTER,
  SERVICE_PORT,
  topologyFor,
} from './topology.js';
export type { Topology } from './topology.js';
