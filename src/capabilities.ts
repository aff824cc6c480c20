import { accountsCapability } from './accounts/capability.js';
import { accessCapability } from './access/capability.js';
import { archiveCapability } from './archive/capability.js';
import { businessCapability } from './business/capability.js';
import { campaignsCapability } from './campaigns/capability.js';
import { changesCapability } from './changes/capability.js';
import { catalogCapability } from './catalog/capability.js';
import { communesCapability } from './communes/capability.js';
import type { Capability } from './context/capability.js';
import { contributionsCapability } from './contributions/capability.js';
import { declarationsCapability } from './declarations/capability.js';
import { demoCapability } from './demo/capability.js';
import { extractsCapability } from './extracts/capability.js';
import { financingCapability } from './financing/capability.js';
import { healthCapability } from './health/health.js';
import { jobsCapability } from './jobs/capability.js';
import { licencesCapability } from './licences/capability.js';
import { metadataCapability } from './metadata/capability.js';
import { publicationCapability } from './publication/capability.js';
import { ogcCapability } from './ogc/capability.js';
import { rasterCapability } from './raster/capability.js';
import { tiersCapability } from './tiers/capability.js';
import { usageCapability } from './usage/capability.js';
import { vectorCapability } from './vector/capability.js';

/**
 * Every capability of the platform, in the order the server registers them. Adding one is adding
 * its folder and one line here (docs/architecture.md, "How to add a capability").
 */
export const CAPABILITIES: readonly Capability[] = [
  healthCapability,
  accessCapability,
  // Before the others: its onResponse hook counts every route.
  usageCapability,
  catalogCapability,
  jobsCapability,
  ogcCapability,
  rasterCapability,
  vectorCapability,
  tiersCapability,
  archiveCapability,
  demoCapability,
  accountsCapability,
  declarationsCapability,
  communesCapability,
  metadataCapability,
  licencesCapability,
  publicationCapability,
  extractsCapability,
  contributionsCapability,
  businessCapability,
  campaignsCapability,
  changesCapability,
  financingCapability,
];
