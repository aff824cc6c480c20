import { readFileSync } from 'node:fs';
import { ANONYMOUS, type Caller, type ReadTarget } from '../context/access.js';
import type { AppContext } from '../context/app-context.js';
import { errorMessage, UserError } from '../util/errors.js';
import { LicenceStore, type Acceptance, type Acceptor, type LicenceId } from './store.js';
import { DEFAULT_CHARTER, LICENCE_OUVERTE, OPEN_LICENCE_VERSION, type LicenceText } from './texts.js';

/**
 * Which text a download is made under, and who accepted it. Open data (what an anonymous caller
 * may read) comes under the Licence Ouverte 2.0: the portal shows it before a session's first
 * download and records the acceptance, but nothing is refused without it (the licence asks only
 * for a credit). Restricted data comes under the usage charter: an extract of it is refused
 * (403 `charter-not-accepted`) until the requesting user has accepted the charter's current version.
 */

export interface LicenceView extends LicenceText {
  id: LicenceId;
  version: string;
  /** What it covers, for the screen. */
  appliesTo: 'open-data' | 'restricted-data';
  /** When this user or browser accepted this version; null when never. */
  acceptedAt: string | null;
}

export class LicenceService {
  readonly store: LicenceStore;
  private charterText: LicenceText | null = null;

  constructor(private readonly ctx: AppContext) {
    this.store = new LicenceStore(ctx.db);
  }

  /** The charter in force: the operator's file (first line = title), or the shipped one. */
  charter(): LicenceText & { version: string } {
    const { charterFile, charterVersion } = this.ctx.config.licences;
    if (!this.charterText) {
      if (charterFile === undefined) this.charterText = DEFAULT_CHARTER;
      else {
        let text: string;
        try {
          text = readFileSync(charterFile, 'utf8');
        } catch (e) {
          // An operator's mistake: said in the log, not to the public.
          throw new Error(`licences.charterFile cannot be read: ${errorMessage(e)}`);
        }
        this.charterText = { name: text.split('\n')[0]?.trim() || DEFAULT_CHARTER.name, url: this.ctx.config.metadata.restrictedLicence.url ?? '', text };
      }
    }
    return { ...this.charterText, version: charterVersion };
  }

  current(id: LicenceId): LicenceText & { version: string } {
    return id === 'charter' ? this.charter() : { ...LICENCE_OUVERTE, version: OPEN_LICENCE_VERSION };
  }

  /** Both texts, with what this user or browser accepted of their current versions. */
  async view(who: Acceptor | null): Promise<LicenceView[]> {
    const accepted = who ? await this.store.acceptances(who) : [];
    const at = (id: LicenceId, version: string) => accepted.find((a) => a.licence === id && a.version === version)?.acceptedAt ?? null;
    return (['licence-ouverte', 'charter'] as const).map((id) => {
      const l = this.current(id);
      return { id, ...l, appliesTo: id === 'charter' ? 'restricted-data' : 'open-data', acceptedAt: at(id, l.version) };
    });
  }

  /** Records an acceptance of the current version (an older version is a 409: the text changed since it was shown). */
  async accept(caller: Caller, who: Acceptor, id: LicenceId, version: string, ip?: string): Promise<Acceptance> {
    const current = this.current(id);
    if (version !== current.version) {
      throw new UserError('licence-version-changed', `The ${id === 'charter' ? 'charter' : 'licence'} is now in version ${current.version}, not ${version}: read it again before accepting.`, { status: 409 });
    }
    const done = await this.store.record(who, id, version);
    await this.ctx.audit.record(caller, { action: 'licence.accept', target: `licence:${id}`, details: { version, ...('browserHash' in who ? { anonymous: true } : {}) }, ...(ip ? { ip } : {}) });
    return done;
  }

  /** Whether the target is restricted data: something an anonymous caller may not read. */
  async restricted(target: ReadTarget): Promise<boolean> {
    return !(await this.ctx.access.canRead(ANONYMOUS, target));
  }

  /** Refuses a download of restricted data by a user (or a user's key) who has not accepted the charter in force. */
  async requireCharter(caller: Caller): Promise<void> {
    if (caller.kind === 'operator') return;
    const charter = this.charter();
    const accepted = caller.userId !== undefined && (await this.store.acceptances({ userId: caller.userId })).some((a) => a.licence === 'charter' && a.version === charter.version);
    if (!accepted) {
      throw new UserError('charter-not-accepted', `This download holds restricted data: accept the usage charter (version ${charter.version}) first.`, {
        status: 403,
        hint: 'Read it at GET /api/v1/licences and accept it with POST /api/v1/licences/acceptances {"licence":"charter","version":"…"}, or in the portal.',
        exitCode: 1,
      });
    }
  }
}
