export { startSimulator, type SimulatorHandle, type SimulatorStats, type FirstTokenObserver } from "./server.ts";
export { parseModelList, type SimulatorOptions, type SimulatedModel } from "./options.ts";
