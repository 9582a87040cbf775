CREATE SCHEMA IF NOT EXISTS "analytics";
CREATE TABLE IF NOT EXISTS "analytics"."analytics_order_lifecycle_events" (
  "event_id" uuid NOT NULL,
  "event_name" text NOT NULL,
  "occurred_at" timestamptz NOT NULL,
  "received_at" timestamptz NOT NULL,
  "source" text NOT NULL,
  "schema_version" bigint NOT NULL,
  "actor_type" text,
  "actor_id" text,
  "context" jsonb NOT NULL,
  "payload" jsonb NOT NULL,
  "order_id" text NOT NULL,
  "branch_id" text,
  "customer_id" text,
  "driver_id" text,
  "status" text,
  "delivery_status" text,
  PRIMARY KEY ("event_id")
);
CREATE INDEX IF NOT EXISTS "analytics_order_lifecycle_events_occurred_at_brin" ON "analytics"."analytics_order_lifecycle_events" USING brin ("occurred_at");
CREATE INDEX IF NOT EXISTS "analytics_order_lifecycle_events_order_id_idx" ON "analytics"."analytics_order_lifecycle_events" ("order_id");
CREATE INDEX IF NOT EXISTS "analytics_order_lifecycle_events_branch_id_idx" ON "analytics"."analytics_order_lifecycle_events" ("branch_id");
CREATE INDEX IF NOT EXISTS "analytics_order_lifecycle_events_customer_id_idx" ON "analytics"."analytics_order_lifecycle_events" ("customer_id");
CREATE INDEX IF NOT EXISTS "analytics_order_lifecycle_events_driver_id_idx" ON "analytics"."analytics_order_lifecycle_events" ("driver_id");
CREATE INDEX IF NOT EXISTS "analytics_order_lifecycle_events_status_idx" ON "analytics"."analytics_order_lifecycle_events" ("status");
CREATE INDEX IF NOT EXISTS "analytics_order_lifecycle_events_delivery_status_idx" ON "analytics"."analytics_order_lifecycle_events" ("delivery_status");
COMMENT ON TABLE "analytics"."analytics_order_lifecycle_events" IS 'Order fulfilment lifecycle: order, branch, customer and delivery progress.';
COMMENT ON COLUMN "analytics"."analytics_order_lifecycle_events"."event_id" IS 'Idempotency key of the event, a UUID.';
COMMENT ON COLUMN "analytics"."analytics_order_lifecycle_events"."event_name" IS 'Event name within the family.';
COMMENT ON COLUMN "analytics"."analytics_order_lifecycle_events"."occurred_at" IS 'When it happened (RFC 3339 with offset).';
COMMENT ON COLUMN "analytics"."analytics_order_lifecycle_events"."received_at" IS 'When the ingest service received the event.';
COMMENT ON COLUMN "analytics"."analytics_order_lifecycle_events"."source" IS 'Emitting system, e.g. api.';
COMMENT ON COLUMN "analytics"."analytics_order_lifecycle_events"."schema_version" IS 'Version of the family''s payload schema.';
COMMENT ON COLUMN "analytics"."analytics_order_lifecycle_events"."actor_type" IS 'Kind of actor, e.g. customer, driver, staff, system.';
COMMENT ON COLUMN "analytics"."analytics_order_lifecycle_events"."actor_id" IS 'Identifier of the actor within its kind.';
COMMENT ON COLUMN "analytics"."analytics_order_lifecycle_events"."context" IS 'Request context.';
COMMENT ON COLUMN "analytics"."analytics_order_lifecycle_events"."payload" IS 'The whole payload as received, unknown fields included.';
COMMENT ON COLUMN "analytics"."analytics_order_lifecycle_events"."order_id" IS 'Order the event is about.';
COMMENT ON COLUMN "analytics"."analytics_order_lifecycle_events"."branch_id" IS 'Branch handling the order.';
COMMENT ON COLUMN "analytics"."analytics_order_lifecycle_events"."customer_id" IS 'Customer who placed the order.';
COMMENT ON COLUMN "analytics"."analytics_order_lifecycle_events"."driver_id" IS 'Driver assigned to the order, if any.';
COMMENT ON COLUMN "analytics"."analytics_order_lifecycle_events"."status" IS 'Order status after the event.';
COMMENT ON COLUMN "analytics"."analytics_order_lifecycle_events"."delivery_status" IS 'Delivery status after the event.';
CREATE TABLE IF NOT EXISTS "analytics"."analytics_driver_telemetry_events" (
  "event_id" uuid NOT NULL,
  "event_name" text NOT NULL,
  "occurred_at" timestamptz NOT NULL,
  "received_at" timestamptz NOT NULL,
  "source" text NOT NULL,
  "schema_version" bigint NOT NULL,
  "actor_type" text,
  "actor_id" text,
  "context" jsonb NOT NULL,
  "payload" jsonb NOT NULL,
  "driver_id" text NOT NULL,
  "order_id" text,
  "latitude" double precision NOT NULL,
  "longitude" double precision NOT NULL,
  "accuracy_m" double precision,
  "speed_kmh" double precision,
  "heading_deg" double precision,
  PRIMARY KEY ("event_id")
);
CREATE INDEX IF NOT EXISTS "analytics_driver_telemetry_events_occurred_at_brin" ON "analytics"."analytics_driver_telemetry_events" USING brin ("occurred_at");
CREATE INDEX IF NOT EXISTS "analytics_driver_telemetry_events_driver_id_idx" ON "analytics"."analytics_driver_telemetry_events" ("driver_id");
CREATE INDEX IF NOT EXISTS "analytics_driver_telemetry_events_order_id_idx" ON "analytics"."analytics_driver_telemetry_events" ("order_id");
COMMENT ON TABLE "analytics"."analytics_driver_telemetry_events" IS 'Real-time driver locations for route analytics and SLA monitoring.';
COMMENT ON COLUMN "analytics"."analytics_driver_telemetry_events"."event_id" IS 'Idempotency key of the event, a UUID.';
COMMENT ON COLUMN "analytics"."analytics_driver_telemetry_events"."event_name" IS 'Event name within the family.';
COMMENT ON COLUMN "analytics"."analytics_driver_telemetry_events"."occurred_at" IS 'When it happened (RFC 3339 with offset).';
COMMENT ON COLUMN "analytics"."analytics_driver_telemetry_events"."received_at" IS 'When the ingest service received the event.';
COMMENT ON COLUMN "analytics"."analytics_driver_telemetry_events"."source" IS 'Emitting system, e.g. api.';
COMMENT ON COLUMN "analytics"."analytics_driver_telemetry_events"."schema_version" IS 'Version of the family''s payload schema.';
COMMENT ON COLUMN "analytics"."analytics_driver_telemetry_events"."actor_type" IS 'Kind of actor, e.g. customer, driver, staff, system.';
COMMENT ON COLUMN "analytics"."analytics_driver_telemetry_events"."actor_id" IS 'Identifier of the actor within its kind.';
COMMENT ON COLUMN "analytics"."analytics_driver_telemetry_events"."context" IS 'Request context.';
COMMENT ON COLUMN "analytics"."analytics_driver_telemetry_events"."payload" IS 'The whole payload as received, unknown fields included.';
COMMENT ON COLUMN "analytics"."analytics_driver_telemetry_events"."driver_id" IS 'Driver whose device reported the location.';
COMMENT ON COLUMN "analytics"."analytics_driver_telemetry_events"."order_id" IS 'Order being delivered, if any.';
COMMENT ON COLUMN "analytics"."analytics_driver_telemetry_events"."latitude" IS 'WGS84 latitude in degrees.';
COMMENT ON COLUMN "analytics"."analytics_driver_telemetry_events"."longitude" IS 'WGS84 longitude in degrees.';
COMMENT ON COLUMN "analytics"."analytics_driver_telemetry_events"."accuracy_m" IS 'Horizontal accuracy in metres.';
COMMENT ON COLUMN "analytics"."analytics_driver_telemetry_events"."speed_kmh" IS 'Ground speed in km/h.';
COMMENT ON COLUMN "analytics"."analytics_driver_telemetry_events"."heading_deg" IS 'Heading, degrees from north.';
CREATE TABLE IF NOT EXISTS "analytics"."analytics_campaign_interaction_events" (
  "event_id" uuid NOT NULL,
  "event_name" text NOT NULL,
  "occurred_at" timestamptz NOT NULL,
  "received_at" timestamptz NOT NULL,
  "source" text NOT NULL,
  "schema_version" bigint NOT NULL,
  "actor_type" text,
  "actor_id" text,
  "context" jsonb NOT NULL,
  "payload" jsonb NOT NULL,
  "template_key" text NOT NULL,
  "campaign_id" text,
  "plan_id" text,
  "channel" text,
  "customer_id" text,
  "outcome" text,
  PRIMARY KEY ("event_id")
);
CREATE INDEX IF NOT EXISTS "analytics_campaign_interaction_events_occurred_at_brin" ON "analytics"."analytics_campaign_interaction_events" USING brin ("occurred_at");
CREATE INDEX IF NOT EXISTS "analytics_campaign_interaction_events_template_key_idx" ON "analytics"."analytics_campaign_interaction_events" ("template_key");
CREATE INDEX IF NOT EXISTS "analytics_campaign_interaction_events_campaign_id_idx" ON "analytics"."analytics_campaign_interaction_events" ("campaign_id");
CREATE INDEX IF NOT EXISTS "analytics_campaign_interaction_events_plan_id_idx" ON "analytics"."analytics_campaign_interaction_events" ("plan_id");
CREATE INDEX IF NOT EXISTS "analytics_campaign_interaction_events_channel_idx" ON "analytics"."analytics_campaign_interaction_events" ("channel");
CREATE INDEX IF NOT EXISTS "analytics_campaign_interaction_events_customer_id_idx" ON "analytics"."analytics_campaign_interaction_events" ("customer_id");
CREATE INDEX IF NOT EXISTS "analytics_campaign_interaction_events_outcome_idx" ON "analytics"."analytics_campaign_interaction_events" ("outcome");
COMMENT ON TABLE "analytics"."analytics_campaign_interaction_events" IS 'Command-center outreach, plan adjustments and outcomes for growth experiments.';
COMMENT ON COLUMN "analytics"."analytics_campaign_interaction_events"."event_id" IS 'Idempotency key of the event, a UUID.';
COMMENT ON COLUMN "analytics"."analytics_campaign_interaction_events"."event_name" IS 'Event name within the family.';
COMMENT ON COLUMN "analytics"."analytics_campaign_interaction_events"."occurred_at" IS 'When it happened (RFC 3339 with offset).';
COMMENT ON COLUMN "analytics"."analytics_campaign_interaction_events"."received_at" IS 'When the ingest service received the event.';
COMMENT ON COLUMN "analytics"."analytics_campaign_interaction_events"."source" IS 'Emitting system, e.g. api.';
COMMENT ON COLUMN "analytics"."analytics_campaign_interaction_events"."schema_version" IS 'Version of the family''s payload schema.';
COMMENT ON COLUMN "analytics"."analytics_campaign_interaction_events"."actor_type" IS 'Kind of actor, e.g. customer, driver, staff, system.';
COMMENT ON COLUMN "analytics"."analytics_campaign_interaction_events"."actor_id" IS 'Identifier of the actor within its kind.';
COMMENT ON COLUMN "analytics"."analytics_campaign_interaction_events"."context" IS 'Request context.';
COMMENT ON COLUMN "analytics"."analytics_campaign_interaction_events"."payload" IS 'The whole payload as received, unknown fields included.';
COMMENT ON COLUMN "analytics"."analytics_campaign_interaction_events"."template_key" IS 'Outreach template the interaction used.';
COMMENT ON COLUMN "analytics"."analytics_campaign_interaction_events"."campaign_id" IS 'Campaign the interaction belongs to.';
COMMENT ON COLUMN "analytics"."analytics_campaign_interaction_events"."plan_id" IS 'Campaign plan the interaction belongs to.';
COMMENT ON COLUMN "analytics"."analytics_campaign_interaction_events"."channel" IS 'Channel, e.g. sms, email, push, call.';
COMMENT ON COLUMN "analytics"."analytics_campaign_interaction_events"."customer_id" IS 'Customer reached, if any.';
COMMENT ON COLUMN "analytics"."analytics_campaign_interaction_events"."outcome" IS 'Outcome of the outreach, if known.';
CREATE TABLE IF NOT EXISTS "analytics"."analytics_dead_letter_events" (
  "dead_letter_id" uuid NOT NULL,
  "received_at" timestamptz NOT NULL,
  "origin" text NOT NULL,
  "category" text,
  "event_id" text,
  "error_field" text,
  "error_rule" text NOT NULL,
  "error" text NOT NULL,
  "raw_body" bytea NOT NULL,
  PRIMARY KEY ("dead_letter_id")
);
CREATE INDEX IF NOT EXISTS "analytics_dead_letter_events_received_at_brin" ON "analytics"."analytics_dead_letter_events" USING brin ("received_at");
CREATE INDEX IF NOT EXISTS "analytics_dead_letter_events_event_id_idx" ON "analytics"."analytics_dead_letter_events" ("event_id");
CREATE INDEX IF NOT EXISTS "analytics_dead_letter_events_error_rule_idx" ON "analytics"."analytics_dead_letter_events" ("error_rule");
COMMENT ON TABLE "analytics"."analytics_dead_letter_events" IS 'Input that failed validation: raw body, error, origin and time.';
COMMENT ON COLUMN "analytics"."analytics_dead_letter_events"."dead_letter_id" IS 'Deterministic id of this rejected input.';
COMMENT ON COLUMN "analytics"."analytics_dead_letter_events"."received_at" IS 'When the ingest service received the input.';
COMMENT ON COLUMN "analytics"."analytics_dead_letter_events"."origin" IS 'Where it came from: http, kafka:topic/partition/offset, replay:file:line.';
COMMENT ON COLUMN "analytics"."analytics_dead_letter_events"."category" IS 'Category claimed by the input, if readable.';
COMMENT ON COLUMN "analytics"."analytics_dead_letter_events"."event_id" IS 'event_id claimed by the input, if readable.';
COMMENT ON COLUMN "analytics"."analytics_dead_letter_events"."error_field" IS 'Field of the first validation issue.';
COMMENT ON COLUMN "analytics"."analytics_dead_letter_events"."error_rule" IS 'Rule of the first validation issue.';
COMMENT ON COLUMN "analytics"."analytics_dead_letter_events"."error" IS 'Every validation issue: field, rule and value (truncated).';
COMMENT ON COLUMN "analytics"."analytics_dead_letter_events"."raw_body" IS 'The input exactly as received.';
