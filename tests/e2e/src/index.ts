export { E2E_INSTANCE, artifactsDir, startSimulation, stopSimulation } from './simulation.js';
export type { SimulationOptions } from './simulation.js';
export { callThroughGateway, getThroughGateway } from './gateway-client.js';
export type { CallerEnvelope, GatewayAnswer, MessageBody } from './gateway-client.js';
export { launchChromium } from './browser.js';
