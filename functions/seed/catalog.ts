/** The vocabulary the generator draws from: zones and their phone plans, industries, names, analysis keys. */

/** How a country's numbers look: one of `areas`, then `width` digits from `base + (n mod space)`. E.164 throughout. */
export type PhonePlan = { country: string; areas: readonly string[]; width: number; base: number; space: number };

const US_AREAS = ["+1212", "+1347", "+1646", "+1718", "+1917", "+1201", "+1973", "+1516"];

export const PHONE_PLANS: Record<string, PhonePlan> = {
  US: { country: "US", areas: US_AREAS, width: 7, base: 2_000_000, space: 8_000_000 },
  CA: { country: "CA", areas: ["+1709", "+1416", "+1604"], width: 7, base: 2_000_000, space: 8_000_000 },
  IN: { country: "IN", areas: ["+919", "+918", "+917"], width: 9, base: 0, space: 1_000_000_000 },
  NP: { country: "NP", areas: ["+97798"], width: 8, base: 0, space: 100_000_000 },
  GB: { country: "GB", areas: ["+447"], width: 9, base: 0, space: 1_000_000_000 },
  AU: { country: "AU", areas: ["+614"], width: 8, base: 0, space: 100_000_000 },
  DE: { country: "DE", areas: ["+4915", "+4917"], width: 9, base: 0, space: 1_000_000_000 },
  BR: { country: "BR", areas: ["+55119", "+55219"], width: 8, base: 0, space: 100_000_000 },
  JP: { country: "JP", areas: ["+8190", "+8180"], width: 8, base: 0, space: 100_000_000 },
  AE: { country: "AE", areas: ["+97150", "+97155"], width: 7, base: 0, space: 10_000_000 },
  ZA: { country: "ZA", areas: ["+2782", "+2772"], width: 7, base: 0, space: 10_000_000 },
  NZ: { country: "NZ", areas: ["+6421"], width: 7, base: 0, space: 10_000_000 },
};

/**
 * Zones organizations are spread over, in the order they are handed out: the first three are the ones the
 * dashboards must get right (a DST zone, a +5:30 zone, a +5:45 zone), then UTC, London and Adelaide (+9:30/+10:30).
 */
export const ZONES: readonly { timeZone: string; country: string }[] = [
  { timeZone: "America/New_York", country: "US" },
  { timeZone: "Asia/Kolkata", country: "IN" },
  { timeZone: "Asia/Kathmandu", country: "NP" },
  { timeZone: "UTC", country: "GB" },
  { timeZone: "Europe/London", country: "GB" },
  { timeZone: "Australia/Adelaide", country: "AU" },
  { timeZone: "America/Los_Angeles", country: "US" },
  { timeZone: "America/Chicago", country: "US" },
  { timeZone: "Europe/Berlin", country: "DE" },
  { timeZone: "America/Sao_Paulo", country: "BR" },
  { timeZone: "Asia/Tokyo", country: "JP" },
  { timeZone: "America/St_Johns", country: "CA" },
  { timeZone: "Asia/Dubai", country: "AE" },
  { timeZone: "Africa/Johannesburg", country: "ZA" },
  { timeZone: "Pacific/Auckland", country: "NZ" },
  { timeZone: "America/Denver", country: "US" },
];

export type Industry = {
  key: string;
  noun: string;
  services: readonly (readonly [name: string, priceCents: number])[];
  /** closes earlier on Saturday, or not at all */
  saturday: boolean;
};

export const INDUSTRIES: readonly Industry[] = [
  {
    key: "dental",
    noun: "Dental",
    saturday: true,
    services: [
      ["Cleaning & exam", 12_000],
      ["Teeth whitening", 35_000],
      ["Crown", 120_000],
      ["Implant consultation", 0],
      ["Emergency visit", 18_000],
      ["Invisalign consultation", 9_900],
    ],
  },
  {
    key: "hvac",
    noun: "Heating & Air",
    saturday: true,
    services: [
      ["AC tune-up", 8_900],
      ["Furnace repair visit", 14_900],
      ["New system estimate", 0],
      ["Duct cleaning", 39_900],
    ],
  },
  {
    key: "roofing",
    noun: "Roofing",
    saturday: false,
    services: [
      ["Roof inspection", 0],
      ["Leak repair", 45_000],
      ["Full replacement estimate", 0],
      ["Gutter cleaning", 19_900],
    ],
  },
  {
    key: "realty",
    noun: "Realty",
    saturday: true,
    services: [
      ["Listing consultation", 0],
      ["Home valuation", 0],
      ["Buyer tour", 0],
    ],
  },
  {
    key: "legal",
    noun: "Law Group",
    saturday: false,
    services: [
      ["Case review", 15_000],
      ["Estate planning session", 45_000],
      ["Contract review", 30_000],
    ],
  },
  {
    key: "medspa",
    noun: "Med Spa",
    saturday: true,
    services: [
      ["Consultation", 0],
      ["Botox session", 42_000],
      ["Laser treatment", 65_000],
      ["Facial", 15_000],
    ],
  },
  {
    key: "vet",
    noun: "Animal Hospital",
    saturday: true,
    services: [
      ["Wellness exam", 7_500],
      ["Vaccinations", 9_500],
      ["Dental cleaning", 45_000],
    ],
  },
];

export const ORG_PREFIXES = [
  "Summit",
  "Harbor",
  "Maple",
  "Lakeside",
  "Brightside",
  "Evergreen",
  "Riverside",
  "Northstar",
  "Golden Gate",
  "Cedar",
  "Bluebird",
  "Pioneer",
  "Oakwood",
  "Silverline",
  "Sunrise",
  "Redwood",
  "Crescent",
  "Granite",
  "Willow",
  "Beacon",
  "Highland",
  "Coastal",
  "Meadow",
  "Keystone",
  "Liberty",
  "Aspen",
  "Juniper",
  "Orchard",
  "Union",
  "Prairie",
] as const;

export const FIRST_NAMES = [
  "Olivia",
  "Liam",
  "Emma",
  "Noah",
  "Ava",
  "Elijah",
  "Sophia",
  "James",
  "Isabella",
  "Lucas",
  "Mia",
  "Mateo",
  "Amelia",
  "Ethan",
  "Harper",
  "Aarav",
  "Priya",
  "Ananya",
  "Rohan",
  "Sita",
  "Bikash",
  "Anjali",
  "Kenji",
  "Yuki",
  "Chloe",
  "Oliver",
  "Grace",
  "Jack",
  "Zoe",
  "Leo",
  "Fatima",
  "Omar",
  "Lena",
  "Felix",
  "Camila",
  "Diego",
  "Aroha",
  "Thabo",
  "Naledi",
  "Hannah",
] as const;

export const LAST_NAMES = [
  "Smith",
  "Johnson",
  "Williams",
  "Brown",
  "Jones",
  "Garcia",
  "Miller",
  "Davis",
  "Rodriguez",
  "Martinez",
  "Lee",
  "Walker",
  "Hall",
  "Allen",
  "Young",
  "King",
  "Wright",
  "Patel",
  "Sharma",
  "Gupta",
  "Shrestha",
  "Thapa",
  "Gurung",
  "Tanaka",
  "Sato",
  "Nguyen",
  "Kim",
  "Chen",
  "Wilson",
  "Taylor",
  "Clarke",
  "Evans",
  "Murphy",
  "Schmidt",
  "Müller",
  "Silva",
  "Santos",
  "O'Brien",
  "Ndlovu",
  "Ngata",
] as const;

export const AI_AGENT_NAMES = ["Ava", "Max", "Nova", "Sage", "Echo", "Iris", "Atlas", "Luna", "Orion", "Piper", "Quinn", "Remy", "Skye", "Theo"] as const;

export const AI_AGENT_ROLES = [
  "front desk",
  "after-hours line",
  "outbound reactivation",
  "appointment reminders",
  "lead qualifier",
  "new-patient intake",
  "billing questions",
  "review requests",
] as const;

/** Milestones every analysed call is scored on, in call order. */
export const MILESTONE_KEYS = ["greeting", "needs_identified", "offer_presented", "next_step_agreed"] as const;

export const OBJECTION_KINDS = ["price", "timing", "insurance", "competitor", "not_decision_maker", "trust"] as const;

/** Relative call volume by local hour: quiet nights, a morning peak, a lunch dip, a long afternoon. */
export const CALL_HOUR_SHAPE = [
  0.05, 0.03, 0.02, 0.02, 0.03, 0.06, 0.15, 0.35, 0.75, 1.0, 1.0, 0.95, 0.7, 0.85, 0.95, 0.9, 0.8, 0.6, 0.4, 0.3, 0.22, 0.15, 0.1, 0.07,
] as const;

/** Website traffic peaks in the evening, when people browse. */
export const PAGEVIEW_HOUR_SHAPE = [
  0.15, 0.08, 0.05, 0.04, 0.04, 0.06, 0.15, 0.3, 0.5, 0.65, 0.7, 0.75, 0.8, 0.75, 0.7, 0.7, 0.7, 0.75, 0.85, 1.0, 1.0, 0.9, 0.6, 0.3,
] as const;

/** By local weekday, Sunday first. */
export const CALL_WEEKDAY_SHAPE = [0.3, 1.05, 1.0, 1.0, 0.98, 0.9, 0.5] as const;
export const PAGEVIEW_WEEKDAY_SHAPE = [0.8, 1.0, 1.0, 1.0, 0.95, 0.85, 0.75] as const;

export const WEEKDAY_KEYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
