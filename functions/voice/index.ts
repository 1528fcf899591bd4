// The voice provider as the entries wire it: the app's config service over a shared store.
export { voiceStoreOver } from "./cache-store";
export { createVoiceService } from "./service";
