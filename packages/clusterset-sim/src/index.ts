export { ClusterSet } from './handle.js';
export type {
  AllLinksControl,
  EndpointStatus,
  LinkControl,
  ProcessStatus,
  ProducerClusterControl,
} from './handle.js';
export { DEFAULT_MCS, assertCanSimulate, upClusterSet } from './lifecycle.js';
export type { ClusterSetOptions } from './lifecycle.js';
export { downClusterSet } from './teardown.js';
export type { DownOptions } from './teardown.js';
export { DEFAULT_STATE_ROOT } from './processes.js';
export type { LinkState } from './processes.js';
export type { McsImporterStatus, RulesetChange } from './endpoints-controller.js';
export type {
  AppLaunch,
  CutMode,
  LinkSettings,
  McsReportSettings,
  McsSettings,
  ProbeSettings,
  ProcessName,
} from './plan.js';
export {
  CALLER_CLUSTER,
  CLUSTERSET_HOST,
  PRODUCER_CLUSTER,
  PRODUCER_CLUSTER_2,
  PRODUCER_CLUSTER_IDS,
  PRODUCER_REPLICAS,
  REPLICAS_BY_CLUSTER,
  SERVICE_PORT,
  topologyFor,
} from './topology.js';
export type { ProducerClusterId, ReplicaName, Topology } from './topology.js';
