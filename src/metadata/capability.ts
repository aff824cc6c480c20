import type { Capability } from '../context/capability.js';
import { metadataCommand } from './cli.js';
import { registerMetadataRoutes } from './routes.js';

export const metadataCapability: Capability = {
  name: 'metadata',
  summary: 'Published metadata from the catalogue: ISO 19139/INSPIRE records, CSW 2.0.2, DCAT-AP, STAC; `pcrs metadata export`',
  http: ({ app }, ctx) => {
    registerMetadataRoutes(app, ctx);
    if (!ctx.config.metadata.contact.email) ctx.log.warn('metadata.contact.email is not set: INSPIRE records need an e-mail address for the point of contact (PCRS_METADATA_CONTACT_EMAIL)');
  },
  commands: [metadataCommand],
  configKeys: ['metadata', 'publicUrl'],
};
