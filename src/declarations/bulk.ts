import type { Caller } from '../context/access.js';
import type { Logger } from '../context/logger.js';
import { isUserError, UserError } from '../util/errors.js';
import type { Status } from './model.js';
import type { DeclarationService, Origin } from './service.js';

/**
 * Bulk triage (moderators): one status change, assignment and/or comment applied to many
 * declarations, each through the service's own functions — the same transition checks, reasons,
 * action log, audit entries and follower mails as one at a time. Each id gets its own result; a
 * refusal for one id stops nothing for the others. Ids are done in order, one after the other, in
 * the order status → assignment → comment; the first refusal ends that id's work (`done` says
 * what was done before it).
 */

export const MAX_BULK_IDS = 200;

export interface BulkInput {
  ids: readonly number[];
  status?: { status: Status; reason?: string | undefined; duplicateOf?: number | undefined } | undefined;
  assign?: { userId?: number | null | undefined; organisation?: string | null | undefined } | undefined;
  comment?: string | undefined;
}

type Step = 'status' | 'assign' | 'comment';
export type BulkResult = { id: number; ok: true; done: Step[] } | { id: number; ok: false; done: Step[]; error: { code: string; message: string } };

export async function bulkTriage(service: DeclarationService, caller: Caller, input: BulkInput, origin: Origin, log: Logger): Promise<BulkResult[]> {
  if (!input.status && !input.assign && input.comment === undefined) {
    throw new UserError('nothing-to-do', 'Give status, assign and/or comment: what to do to each declaration.', { status: 400 });
  }
  if (input.assign && input.assign.userId === undefined && input.assign.organisation === undefined) {
    throw new UserError('nothing-to-assign', 'assign needs userId and/or organisation (null to unassign).', { status: 400 });
  }
  const ids = [...new Set(input.ids)];
  if (ids.length > MAX_BULK_IDS) throw new UserError('too-many-ids', `At most ${MAX_BULK_IDS} declarations at a time (${ids.length} given).`, { status: 400 });
  const results: BulkResult[] = [];
  for (const id of ids) {
    const done: Step[] = [];
    try {
      if (input.status) {
        await service.changeStatus(caller, id, input.status, origin);
        done.push('status');
      }
      if (input.assign) {
        await service.assign(caller, id, input.assign, origin);
        done.push('assign');
      }
      if (input.comment !== undefined) {
        await service.comment(caller, id, input.comment, origin);
        done.push('comment');
      }
      results.push({ id, ok: true, done });
    } catch (e) {
      if (isUserError(e)) {
        results.push({ id, ok: false, done, error: { code: e.code, message: e.message } });
      } else {
        log.error({ err: e, declaration: id }, 'declarations: bulk triage failed on one declaration');
        results.push({ id, ok: false, done, error: { code: 'internal', message: `Declaration ${id} could not be handled (internal error, see the server log).` } });
      }
    }
  }
  log.info({ by: caller.id, ids: ids.length, failed: results.filter((r) => !r.ok).length }, 'declarations: bulk triage');
  return results;
}
