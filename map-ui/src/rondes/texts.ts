// The rounds pages' texts, Dutch first.
import { translator } from '../i18n';

const nl = {
  title: 'Rondes', week: 'Week', prevWeek: 'Vorige week', nextWeek: 'Volgende week', print: 'Afdrukken',
  backToMap: 'Naar de kaart', backToWeek: 'Naar de week',
  noAgreement: 'Voor dit gebied zijn nog geen rondes afgesproken.',
  agreementLine: (rounds: number, from: string, to: string, n: number) =>
    `${rounds} ${rounds === 1 ? 'ronde' : 'rondes'} per nacht tussen ${from} en ${to}, langs ${n} controlepunten`,
  weekLine: (walked: number, required: number, pct: string, met: number, nights: number) =>
    `${walked} van ${required} rondes gelopen (${pct}); ${met} van ${nights} nachten volgens afspraak`,
  night: 'Nacht', walked: 'Gelopen', short: 'Te kort', late: 'Te laat', tooSoon: 'Te snel na de vorige', met: 'Afspraak',
  neverHit: 'Niet bezocht', rounds: 'Rondes', yes: 'ja', no: 'nee', outside: 'Buiten het venster gestart',
  status: { complete: 'compleet', short: 'te kort', late: 'te laat', too_soon: 'te snel', outside_window: 'buiten venster' } as Record<string, string>,
  report: 'Rondeverslag', guard: 'Beveiliger', started: 'Begin', ended: 'Einde', underway: 'nog onderweg',
  duration: 'Duur', distance: 'Afstand', agreement: 'Afspraak', none: 'geen', scans: 'Scans', time: 'Tijd',
  checkpoint: 'Controlepunt', distanceToPoint: 'Afstand tot het punt', flags: 'Opmerking', far: 'te ver van het punt',
  outsidePatrol: 'buiten de ronde', hit: 'Bezocht', missed: 'Gemist', findings: 'Bevindingen', noFindings: 'Geen bevindingen.',
  noScans: 'Geen scans.', minutes: 'min', mapLabel: 'Kaart met de route, de controlepunten en de bevindingen',
  photo: 'Foto',
};
type Dict = typeof nl;
const en: Dict = {
  title: 'Rounds', week: 'Week', prevWeek: 'Previous week', nextWeek: 'Next week', print: 'Print',
  backToMap: 'To the map', backToWeek: 'To the week',
  noAgreement: 'No rounds have been agreed for this area yet.',
  agreementLine: (rounds: number, from: string, to: string, n: number) =>
    `${rounds} ${rounds === 1 ? 'round' : 'rounds'} a night between ${from} and ${to}, past ${n} checkpoints`,
  weekLine: (walked: number, required: number, pct: string, met: number, nights: number) =>
    `${walked} of ${required} rounds walked (${pct}); ${met} of ${nights} nights as agreed`,
  night: 'Night', walked: 'Walked', short: 'Short', late: 'Late', tooSoon: 'Too soon after the previous', met: 'As agreed',
  neverHit: 'Not visited', rounds: 'Rounds', yes: 'yes', no: 'no', outside: 'Started outside the window',
  status: { complete: 'complete', short: 'short', late: 'late', too_soon: 'too soon', outside_window: 'outside window' },
  report: 'Round report', guard: 'Guard', started: 'Start', ended: 'End', underway: 'still under way',
  duration: 'Duration', distance: 'Distance', agreement: 'Agreement', none: 'none', scans: 'Scans', time: 'Time',
  checkpoint: 'Checkpoint', distanceToPoint: 'Distance to the point', flags: 'Note', far: 'too far from the point',
  outsidePatrol: 'outside the patrol', hit: 'Visited', missed: 'Missed', findings: 'Findings', noFindings: 'No findings.',
  noScans: 'No scans.', minutes: 'min', mapLabel: 'Map of the route, the checkpoints and the findings',
  photo: 'Photo',
};

export const r = translator<Dict>(nl, en);
