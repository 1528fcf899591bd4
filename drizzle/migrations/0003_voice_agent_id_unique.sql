-- Voice agent ids become unique (SPEC §11). A populated database may hold an id on several agents, of one organization
-- or of several: the oldest holder (created first, then the lower id) keeps it and the others lose it (NULL: "no voice
-- agent", which the agents list shows as voice status `none`; their organization sets a voice agent id of its own again).
-- Their updated_at moves so that the change is visible and the warm-voice-configs job takes them as recently changed.
UPDATE "agents" AS a
   SET "voice_agent_id" = NULL, "updated_at" = now()
 WHERE a."voice_agent_id" IS NOT NULL
   AND EXISTS (
         SELECT 1 FROM "agents" b
          WHERE b."voice_agent_id" = a."voice_agent_id"
            AND (b."created_at", b."id") < (a."created_at", a."id")
       );
--> statement-breakpoint
CREATE UNIQUE INDEX "agents_voice_agent_id_unique" ON "agents" USING btree ("voice_agent_id");
