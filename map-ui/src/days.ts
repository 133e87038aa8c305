// Calendar days as the werkgroep counts them: days in the Netherlands, held
// as dates at UTC midnight and written `2026-12-03`, as the API takes them.

export const DAY = 86_400_000;

/** `2026-12-03` of a date at UTC midnight. */
export const iso = (d: Date): string => d.toISOString().slice(0, 10);

/** The date at UTC midnight of `2026-12-03`. */
export const parseDay = (s: string): Date => new Date(`${s}T00:00:00Z`);

/** `day` moved by `days` (back when negative). */
export const shiftDay = (day: string, days: number): string => iso(new Date(parseDay(day).getTime() + days * DAY));

/** Today in the Netherlands. */
export function today(): Date {
  return parseDay(new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Amsterdam' }).format(new Date()));
}
