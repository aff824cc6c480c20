import type { Capability } from '../context/capability.js';
import { demoCommand } from './cli.js';

/** The synthetic demo (Cahors, 5 cm): generated and ingested through the normal paths. */
export const demoCapability: Capability = {
  name: 'demo',
  summary: 'Synthetic demo data (orthophoto and vector PCRS of a generated town), through the normal ingest paths',
  commands: [demoCommand],
  configKeys: ['demo'],
};
