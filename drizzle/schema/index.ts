export * from "./enums";
export * from "./organizations";
export * from "./agents";
export * from "./calls";
export * from "./bookings";
export * from "./widget";
export * from "./jobs";
export * from "./rollups";
