/** The territory's calendar: a day of works, of usage, of a campaign is a day in Paris, not in UTC. */
const PARIS_DAY = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' });

/** The day in Europe/Paris (YYYY-MM-DD) of an instant (default: now). */
export function parisToday(now: Date | number = Date.now()): string {
  return PARIS_DAY.format(now);
}
