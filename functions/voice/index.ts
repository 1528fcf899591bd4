export type { VoiceAgentConfig } from "./agent-config";
export { createVoiceClient, type VoiceClient, type VoiceClientOptions } from "./client";
export {
  VOICE_BUDGET_MS,
  createVoiceConfigService,
  type VoiceConfigResult,
  type VoiceConfigService,
  type VoiceConfigServiceOptions,
  type VoiceAgentRef,
  type VoiceConfigStatus,
  type VoiceConfigsAnswer,
  type VoiceConfigsOptions,
  type VoiceWarmReport,
} from "./config-service";
export { VoiceProviderError, type VoiceFailureKind } from "./errors";
export type { BreakerState } from "./shared-breaker";
export { timerSleep, type Sleep } from "./sleep";
export { memoryVoiceStore, type VoiceStore } from "./store";
export { voiceStoreFrom, voiceStoreOver } from "./cache-store";
export { APP_VOICE_CONFIG_FRESH_MS, createVoiceService, voiceAccountOf, type VoiceServiceOptions } from "./service";
