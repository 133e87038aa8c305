// Dutch first; English on request. The choice lives in the URL (`lang=en`).

const nl = {
  title: 'KVO meldingen', signIn: 'Inloggen', signInFirst: 'Log eerst in op de kaart.', email: 'E-mailadres', password: 'Wachtwoord', signOut: 'Uitloggen',
  signInFailed: 'Inloggen mislukt', area: 'Gebied', period: 'Periode', last4w: 'Laatste 4 weken', quarter: 'Kwartaal',
  year: 'Jaar', baseline: 'Sinds de nul-meting', custom: 'Zelf kiezen', from: 'Van', to: 'Tot en met',
  categories: 'Categorieën', themes: 'KVO-thema’s', dimensions: 'Schoon, heel, veilig', statuses: 'Status', all: 'Alle',
  week: 'Week', play: 'Afspelen', pause: 'Pauze', allWeeks: 'Hele periode', incidents: 'meldingen', total: 'Totaal',
  change: 'Verandering', previous: 'Vorige periode', analysis: 'Analyse', trend: 'Trend per week',
  hourWeekday: 'Uur × weekdag', hotspots: 'Significante hotspots', noHotspots: 'Geen significante hotspots in deze periode.',
  repeated: 'Herhaald gemeld (6 maanden)', noRepeated: 'Geen objecten met herhaalde meldingen.', assets: 'Objecten uit het register',
  reportsOpen: (n: number, open: number) => `${n} meldingen, ${open} open`,
  open: 'Open meldingen', noOpen: 'Geen open meldingen.', medianResolution: 'Mediane doorlooptijd', hours: 'uur',
  legend: 'Legenda', fewer: 'minder', more: 'meer', meeting: 'Overlegoverzicht', print: 'Afdrukken', back: 'Terug naar de kaart',
  followUp: 'Opvolging', status: 'Status', assigned: 'Toegewezen aan', history: 'Geschiedenis', comments: 'Opmerkingen', reason: 'Reden',
  comment: 'Opmerking plaatsen', assign: 'Toewijzen', dueDate: 'Uiterlijk', save: 'Opslaan', close: 'Sluiten',
  photo: 'Foto', noDescription: 'Geen omschrijving', language: 'English', notifications: 'Pushberichten',
  loading: 'Laden…', error: 'Er ging iets mis', themeCol: 'Thema', theme_none: 'Overig', dims_none: '–',
  zone: 'Zone', zones: 'Zones', boundary: 'Gebiedsgrens',
  days: ['ma', 'di', 'wo', 'do', 'vr', 'za', 'zo'], confidence: 'betrouwbaarheid', openItems: 'Openstaande punten',
  flyTo: 'Ga naar', mapLabel: 'Kaart met de meldingen', facts: 'Aangifte en schade', damageEur: 'Schade (euro)',
  workList: 'Aan ons toegewezen', console: 'Beheer', table: 'Tabel', allAreas: 'Alle gebieden',
  compareWith: 'Vergelijk met', baselineCompare: 'De nul-meting', noZone: 'Zonder zone', possibleSame: 'Mogelijk dezelfde melding', mergeInto: 'Samenvoegen met deze', reasonNeeded: 'Vul eerst een reden in.', filtersLabel: 'Filters', basemapOff: 'Geen achtergrondkaart bereikbaar',
};
type Dict = typeof nl;
const en: Dict = {
  title: 'KVO reports', signIn: 'Sign in', signInFirst: 'Sign in on the map first.', email: 'Email', password: 'Password', signOut: 'Sign out',
  signInFailed: 'Sign-in failed', area: 'Area', period: 'Period', last4w: 'Last 4 weeks', quarter: 'Quarter',
  year: 'Year', baseline: 'Since the baseline', custom: 'Custom', from: 'From', to: 'To (inclusive)',
  categories: 'Categories', themes: 'KVO themes', dimensions: 'Clean, intact, safe', statuses: 'Status', all: 'All',
  week: 'Week', play: 'Play', pause: 'Pause', allWeeks: 'Whole period', incidents: 'reports', total: 'Total',
  change: 'Change', previous: 'Previous period', analysis: 'Analysis', trend: 'Weekly trend',
  hourWeekday: 'Hour × weekday', hotspots: 'Significant hotspots', noHotspots: 'No significant hotspots in this period.',
  repeated: 'Reported repeatedly (6 months)', noRepeated: 'No assets with repeated reports.', assets: 'Assets from the register',
  reportsOpen: (n: number, open: number) => `${n} reports, ${open} open`,
  open: 'Open reports', noOpen: 'No open reports.', medianResolution: 'Median time to resolution', hours: 'hours',
  legend: 'Legend', fewer: 'fewer', more: 'more', meeting: 'Meeting view', print: 'Print', back: 'Back to the map',
  followUp: 'Follow-up', status: 'Status', assigned: 'Assigned to', history: 'History', comments: 'Comments', reason: 'Reason',
  comment: 'Add comment', assign: 'Assign', dueDate: 'Due', save: 'Save', close: 'Close',
  photo: 'Photo', noDescription: 'No description', language: 'Nederlands', notifications: 'Push messages',
  loading: 'Loading…', error: 'Something went wrong', themeCol: 'Theme', theme_none: 'Other', dims_none: '–',
  zone: 'Zone', zones: 'Zones', boundary: 'Area boundary',
  days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'], confidence: 'confidence', openItems: 'Open items',
  flyTo: 'Go to', mapLabel: 'Map of the reports', facts: 'Police report and damage', damageEur: 'Damage (euros)',
  workList: 'Assigned to us', console: 'Console', table: 'Table', allAreas: 'All areas',
  compareWith: 'Compare with', baselineCompare: 'The baseline', noZone: 'No zone', possibleSame: 'Possibly the same report', mergeInto: 'Merge into this one', reasonNeeded: 'Enter a reason first.', filtersLabel: 'Filters', basemapOff: 'No basemap reachable',
};

export const STATUS: Record<string, [string, string]> = {
  nieuw: ['Nieuw', 'New'], in_behandeling: ['In behandeling', 'In progress'], opgelost: ['Opgelost', 'Resolved'],
  afgewezen: ['Afgewezen', 'Rejected'], heropend: ['Heropend', 'Reopened'],
};
export const THEME: Record<string, [string, string]> = {
  criminaliteit: ['Criminaliteit', 'Crime'], overlast: ['Overlast', 'Nuisance'], brandveiligheid: ['Brandveiligheid', 'Fire safety'],
  verkeersveiligheid: ['Verkeersveiligheid', 'Road safety'], milieu: ['Milieu', 'Environment'],
  cybersecurity: ['Cybersecurity', 'Cyber security'], ondermijning: ['Ondermijning', 'Subversion'],
};
/** One asset of the municipality's registers (the plural is the console's). */
export const ASSET_KIND: Record<string, [string, string]> = {
  lichtmast: ['Lichtmast', 'Lamp post'], afvalbak: ['Afvalbak', 'Waste bin'], camera: ['Camera', 'Camera'], bank: ['Bank', 'Bench'],
};
export const DIMENSION: Record<string, [string, string]> = { schoon: ['Schoon', 'Clean'], heel: ['Heel', 'Intact'], veilig: ['Veilig', 'Safe'] };
export const ACTION: Record<string, [string, string]> = {
  take_in_hand: ['In behandeling nemen', 'Take in hand'], resolve: ['Opgelost', 'Resolve'], reject: ['Afwijzen', 'Reject'],
  reopen: ['Heropenen', 'Reopen'], assign: ['Toewijzen', 'Assign'], comment: ['Opmerking', 'Comment'],
  merge: ['Samenvoegen', 'Merge'], aangifte: ['Aangifte gedaan', 'Police report filed'], damage: ['Schade', 'Damage'],
  hand_back: ['Teruggeven aan de werkgroep', 'Hand back to the werkgroep'],
  open311: ['Systeem van de gemeente', "The municipality's system"],
};
export const ORG: Record<string, [string, string]> = {
  gemeente: ['Gemeente', 'Municipality'], politie: ['Politie', 'Police'], brandweer: ['Brandweer', 'Fire brigade'], beveiliger: ['Beveiliger', 'Security'],
};

export let lang: 'nl' | 'en' = new URLSearchParams(location.search).get('lang') === 'en' ? 'en' : 'nl';
document.documentElement.lang = lang;
export function setLang(l: 'nl' | 'en') { lang = l; document.documentElement.lang = l; }
/** A lookup in a Dutch and an English dictionary of the same shape, by the current language. */
export function translator<D>(nlDict: D, enDict: D): <K extends keyof D>(k: K) => D[K] {
  return (k) => (lang === 'en' ? enDict : nlDict)[k];
}
export const t = translator<Dict>(nl, en);
export function label(table: Record<string, [string, string]>, code: string | null | undefined): string {
  if (!code) return '–';
  const l = table[code];
  return l ? l[lang === 'en' ? 1 : 0] : code;
}
export function fmtDate(iso: string): string {
  return new Date(iso).toLocaleString(lang === 'en' ? 'en-GB' : 'nl-NL', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Europe/Amsterdam' });
}
export function fmtNum(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined) return '–';
  return n.toLocaleString(lang === 'en' ? 'en-GB' : 'nl-NL', { maximumFractionDigits: digits });
}
