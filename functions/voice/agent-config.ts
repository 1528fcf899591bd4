import { z } from "zod";

/** What Tally shows of a voice agent's configuration at the provider. */
export type VoiceAgentConfig = {
  voiceAgentId: string;
  name: string;
  voiceId: string | null;
  ttsModel: string | null;
  language: string | null;
  firstMessage: string | null;
  llm: string | null;
};

/**
 * What a voice agent id may be (SPEC §11): 1–128 characters of `A–Z a–z 0–9 _ -`. It becomes a path segment of the
 * provider's URL, so `..`, `/` or `?` could otherwise reach other provider paths with the platform's key.
 */
export const VOICE_AGENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

const optionalText = z.string().nullish();

/**
 * The part of the provider's `GET /v1/convai/agents/{id}` answer Tally reads. Everything but the id and name is
 * optional and unknown fields pass, so the provider adding or dropping settings does not break the dashboard.
 */
const providerAgentSchema = z.object({
  agent_id: z.string(),
  name: z.string(),
  conversation_config: z
    .object({
      agent: z
        .object({
          language: optionalText,
          first_message: optionalText,
          prompt: z.object({ llm: optionalText }).nullish(),
        })
        .nullish(),
      tts: z.object({ voice_id: optionalText, model_id: optionalText }).nullish(),
    })
    .nullish(),
});

/** The provider's agent JSON as a `VoiceAgentConfig`, or null when it is not that shape. */
export function toVoiceAgentConfig(json: unknown): VoiceAgentConfig | null {
  const parsed = providerAgentSchema.safeParse(json);
  if (!parsed.success) return null;
  const { agent_id, name, conversation_config: conversation } = parsed.data;
  return {
    voiceAgentId: agent_id,
    name,
    voiceId: conversation?.tts?.voice_id ?? null,
    ttsModel: conversation?.tts?.model_id ?? null,
    language: conversation?.agent?.language ?? null,
    firstMessage: conversation?.agent?.first_message ?? null,
    llm: conversation?.agent?.prompt?.llm ?? null,
  };
}
