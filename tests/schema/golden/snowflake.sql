CREATE SCHEMA IF NOT EXISTS "ANALYTICS";
CREATE TABLE IF NOT EXISTS "ANALYTICS"."ANALYTICS_ORDER_LIFECYCLE_EVENTS" (
  "EVENT_ID" VARCHAR(36) NOT NULL COMMENT 'Idempotency key of the event, a UUID.',
  "EVENT_NAME" VARCHAR NOT NULL COMMENT 'Event name within the family.',
  "OCCURRED_AT" TIMESTAMP_TZ NOT NULL COMMENT 'When it happened (RFC 3339 with offset).',
  "RECEIVED_AT" TIMESTAMP_TZ NOT NULL COMMENT 'When the ingest service received the event.',
  "SOURCE" VARCHAR NOT NULL COMMENT 'Emitting system, e.g. api.',
  "SCHEMA_VERSION" NUMBER(38,0) NOT NULL COMMENT 'Version of the family\'s payload schema.',
  "ACTOR_TYPE" VARCHAR COMMENT 'Kind of actor, e.g. customer, driver, staff, system.',
  "ACTOR_ID" VARCHAR COMMENT 'Identifier of the actor within its kind.',
  "CONTEXT" VARIANT NOT NULL COMMENT 'Request context.',
  "PAYLOAD" VARIANT NOT NULL COMMENT 'The whole payload as received, unknown fields included.',
  "ORDER_ID" VARCHAR NOT NULL COMMENT 'Order the event is about.',
  "BRANCH_ID" VARCHAR COMMENT 'Branch handling the order.',
  "CUSTOMER_ID" VARCHAR COMMENT 'Customer who placed the order.',
  "DRIVER_ID" VARCHAR COMMENT 'Driver assigned to the order, if any.',
  "STATUS" VARCHAR COMMENT 'Order status after the event.',
  "DELIVERY_STATUS" VARCHAR COMMENT 'Delivery status after the event.',
  PRIMARY KEY ("EVENT_ID")
)
CLUSTER BY (TO_DATE("OCCURRED_AT"), "ORDER_ID", "BRANCH_ID", "CUSTOMER_ID")
COMMENT = 'Order fulfilment lifecycle: order, branch, customer and delivery progress.';
CREATE TABLE IF NOT EXISTS "ANALYTICS"."ANALYTICS_DRIVER_TELEMETRY_EVENTS" (
  "EVENT_ID" VARCHAR(36) NOT NULL COMMENT 'Idempotency key of the event, a UUID.',
  "EVENT_NAME" VARCHAR NOT NULL COMMENT 'Event name within the family.',
  "OCCURRED_AT" TIMESTAMP_TZ NOT NULL COMMENT 'When it happened (RFC 3339 with offset).',
  "RECEIVED_AT" TIMESTAMP_TZ NOT NULL COMMENT 'When the ingest service received the event.',
  "SOURCE" VARCHAR NOT NULL COMMENT 'Emitting system, e.g. api.',
  "SCHEMA_VERSION" NUMBER(38,0) NOT NULL COMMENT 'Version of the family\'s payload schema.',
  "ACTOR_TYPE" VARCHAR COMMENT 'Kind of actor, e.g. customer, driver, staff, system.',
  "ACTOR_ID" VARCHAR COMMENT 'Identifier of the actor within its kind.',
  "CONTEXT" VARIANT NOT NULL COMMENT 'Request context.',
  "PAYLOAD" VARIANT NOT NULL COMMENT 'The whole payload as received, unknown fields included.',
  "DRIVER_ID" VARCHAR NOT NULL COMMENT 'Driver whose device reported the location.',
  "ORDER_ID" VARCHAR COMMENT 'Order being delivered, if any.',
  "LATITUDE" FLOAT NOT NULL COMMENT 'WGS84 latitude in degrees.',
  "LONGITUDE" FLOAT NOT NULL COMMENT 'WGS84 longitude in degrees.',
  "ACCURACY_M" FLOAT COMMENT 'Horizontal accuracy in metres.',
  "SPEED_KMH" FLOAT COMMENT 'Ground speed in km/h.',
  "HEADING_DEG" FLOAT COMMENT 'Heading, degrees from north.',
  PRIMARY KEY ("EVENT_ID")
)
CLUSTER BY (TO_DATE("OCCURRED_AT"), "DRIVER_ID", "ORDER_ID")
COMMENT = 'Real-time driver locations for route analytics and SLA monitoring.';
CREATE TABLE IF NOT EXISTS "ANALYTICS"."ANALYTICS_CAMPAIGN_INTERACTION_EVENTS" (
  "EVENT_ID" VARCHAR(36) NOT NULL COMMENT 'Idempotency key of the event, a UUID.',
  "EVENT_NAME" VARCHAR NOT NULL COMMENT 'Event name within the family.',
  "OCCURRED_AT" TIMESTAMP_TZ NOT NULL COMMENT 'When it happened (RFC 3339 with offset).',
  "RECEIVED_AT" TIMESTAMP_TZ NOT NULL COMMENT 'When the ingest service received the event.',
  "SOURCE" VARCHAR NOT NULL COMMENT 'Emitting system, e.g. api.',
  "SCHEMA_VERSION" NUMBER(38,0) NOT NULL COMMENT 'Version of the family\'s payload schema.',
  "ACTOR_TYPE" VARCHAR COMMENT 'Kind of actor, e.g. customer, driver, staff, system.',
  "ACTOR_ID" VARCHAR COMMENT 'Identifier of the actor within its kind.',
  "CONTEXT" VARIANT NOT NULL COMMENT 'Request context.',
  "PAYLOAD" VARIANT NOT NULL COMMENT 'The whole payload as received, unknown fields included.',
  "TEMPLATE_KEY" VARCHAR NOT NULL COMMENT 'Outreach template the interaction used.',
  "CAMPAIGN_ID" VARCHAR COMMENT 'Campaign the interaction belongs to.',
  "PLAN_ID" VARCHAR COMMENT 'Campaign plan the interaction belongs to.',
  "CHANNEL" VARCHAR COMMENT 'Channel, e.g. sms, email, push, call.',
  "CUSTOMER_ID" VARCHAR COMMENT 'Customer reached, if any.',
  "OUTCOME" VARCHAR COMMENT 'Outcome of the outreach, if known.',
  PRIMARY KEY ("EVENT_ID")
)
CLUSTER BY (TO_DATE("OCCURRED_AT"), "CAMPAIGN_ID", "TEMPLATE_KEY", "CHANNEL")
COMMENT = 'Command-center outreach, plan adjustments and outcomes for growth experiments.';
CREATE TABLE IF NOT EXISTS "ANALYTICS"."ANALYTICS_DEAD_LETTER_EVENTS" (
  "DEAD_LETTER_ID" VARCHAR(36) NOT NULL COMMENT 'Deterministic id of this rejected input.',
  "RECEIVED_AT" TIMESTAMP_TZ NOT NULL COMMENT 'When the ingest service received the input.',
  "ORIGIN" VARCHAR NOT NULL COMMENT 'Where it came from: http, kafka:topic/partition/offset, replay:file:line.',
  "CATEGORY" VARCHAR COMMENT 'Category claimed by the input, if readable.',
  "EVENT_ID" VARCHAR COMMENT 'event_id claimed by the input, if readable.',
  "ERROR_FIELD" VARCHAR COMMENT 'Field of the first validation issue.',
  "ERROR_RULE" VARCHAR NOT NULL COMMENT 'Rule of the first validation issue.',
  "ERROR" VARCHAR NOT NULL COMMENT 'Every validation issue: field, rule and value (truncated).',
  "RAW_BODY" BINARY NOT NULL COMMENT 'The input exactly as received.',
  PRIMARY KEY ("DEAD_LETTER_ID")
)
CLUSTER BY (TO_DATE("RECEIVED_AT"), "ORIGIN", "ERROR_RULE")
COMMENT = 'Input that failed validation: raw body, error, origin and time.';
