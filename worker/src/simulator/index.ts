export { startSimulator, type SimulatorHandle, type SimulatorStats } from "./server.ts";
export { parseModelList, type SimulatorOptions, type SimulatedModel } from "./options.ts";
