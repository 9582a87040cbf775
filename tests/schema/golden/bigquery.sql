CREATE SCHEMA IF NOT EXISTS `laundry_analytics`;
CREATE TABLE IF NOT EXISTS `laundry_analytics.analytics_order_lifecycle_events` (
  `event_id` STRING NOT NULL OPTIONS(description='Idempotency key of the event, a UUID.'),
  `event_name` STRING NOT NULL OPTIONS(description='Event name within the family.'),
  `occurred_at` TIMESTAMP NOT NULL OPTIONS(description='When it happened (RFC 3339 with offset).'),
  `received_at` TIMESTAMP NOT NULL OPTIONS(description='When the ingest service received the event.'),
  `source` STRING NOT NULL OPTIONS(description='Emitting system, e.g. api.'),
  `schema_version` INT64 NOT NULL OPTIONS(description='Version of the family\'s payload schema.'),
  `actor_type` STRING OPTIONS(description='Kind of actor, e.g. customer, driver, staff, system.'),
  `actor_id` STRING OPTIONS(description='Identifier of the actor within its kind.'),
  `context` JSON NOT NULL OPTIONS(description='Request context.'),
  `payload` JSON NOT NULL OPTIONS(description='The whole payload as received, unknown fields included.'),
  `order_id` STRING NOT NULL OPTIONS(description='Order the event is about.'),
  `branch_id` STRING OPTIONS(description='Branch handling the order.'),
  `customer_id` STRING OPTIONS(description='Customer who placed the order.'),
  `driver_id` STRING OPTIONS(description='Driver assigned to the order, if any.'),
  `status` STRING OPTIONS(description='Order status after the event.'),
  `delivery_status` STRING OPTIONS(description='Delivery status after the event.')
)
PARTITION BY DATE(`occurred_at`)
CLUSTER BY `order_id`, `branch_id`, `customer_id`
OPTIONS(description='Order fulfilment lifecycle: order, branch, customer and delivery progress.');
CREATE TABLE IF NOT EXISTS `laundry_analytics.analytics_driver_telemetry_events` (
  `event_id` STRING NOT NULL OPTIONS(description='Idempotency key of the event, a UUID.'),
  `event_name` STRING NOT NULL OPTIONS(description='Event name within the family.'),
  `occurred_at` TIMESTAMP NOT NULL OPTIONS(description='When it happened (RFC 3339 with offset).'),
  `received_at` TIMESTAMP NOT NULL OPTIONS(description='When the ingest service received the event.'),
  `source` STRING NOT NULL OPTIONS(description='Emitting system, e.g. api.'),
  `schema_version` INT64 NOT NULL OPTIONS(description='Version of the family\'s payload schema.'),
  `actor_type` STRING OPTIONS(description='Kind of actor, e.g. customer, driver, staff, system.'),
  `actor_id` STRING OPTIONS(description='Identifier of the actor within its kind.'),
  `context` JSON NOT NULL OPTIONS(description='Request context.'),
  `payload` JSON NOT NULL OPTIONS(description='The whole payload as received, unknown fields included.'),
  `driver_id` STRING NOT NULL OPTIONS(description='Driver whose device reported the location.'),
  `order_id` STRING OPTIONS(description='Order being delivered, if any.'),
  `latitude` FLOAT64 NOT NULL OPTIONS(description='WGS84 latitude in degrees.'),
  `longitude` FLOAT64 NOT NULL OPTIONS(description='WGS84 longitude in degrees.'),
  `accuracy_m` FLOAT64 OPTIONS(description='Horizontal accuracy in metres.'),
  `speed_kmh` FLOAT64 OPTIONS(description='Ground speed in km/h.'),
  `heading_deg` FLOAT64 OPTIONS(description='Heading, degrees from north.')
)
PARTITION BY DATE(`occurred_at`)
CLUSTER BY `driver_id`, `order_id`
OPTIONS(description='Real-time driver locations for route analytics and SLA monitoring.');
CREATE TABLE IF NOT EXISTS `laundry_analytics.analytics_campaign_interaction_events` (
  `event_id` STRING NOT NULL OPTIONS(description='Idempotency key of the event, a UUID.'),
  `event_name` STRING NOT NULL OPTIONS(description='Event name within the family.'),
  `occurred_at` TIMESTAMP NOT NULL OPTIONS(description='When it happened (RFC 3339 with offset).'),
  `received_at` TIMESTAMP NOT NULL OPTIONS(description='When the ingest service received the event.'),
  `source` STRING NOT NULL OPTIONS(description='Emitting system, e.g. api.'),
  `schema_version` INT64 NOT NULL OPTIONS(description='Version of the family\'s payload schema.'),
  `actor_type` STRING OPTIONS(description='Kind of actor, e.g. customer, driver, staff, system.'),
  `actor_id` STRING OPTIONS(description='Identifier of the actor within its kind.'),
  `context` JSON NOT NULL OPTIONS(description='Request context.'),
  `payload` JSON NOT NULL OPTIONS(description='The whole payload as received, unknown fields included.'),
  `template_key` STRING NOT NULL OPTIONS(description='Outreach template the interaction used.'),
  `campaign_id` STRING OPTIONS(description='Campaign the interaction belongs to.'),
  `plan_id` STRING OPTIONS(description='Campaign plan the interaction belongs to.'),
  `channel` STRING OPTIONS(description='Channel, e.g. sms, email, push, call.'),
  `customer_id` STRING OPTIONS(description='Customer reached, if any.'),
  `outcome` STRING OPTIONS(description='Outcome of the outreach, if known.')
)
PARTITION BY DATE(`occurred_at`)
CLUSTER BY `campaign_id`, `template_key`, `channel`
OPTIONS(description='Command-center outreach, plan adjustments and outcomes for growth experiments.');
CREATE TABLE IF NOT EXISTS `laundry_analytics.analytics_dead_letter_events` (
  `dead_letter_id` STRING NOT NULL OPTIONS(description='Deterministic id of this rejected input.'),
  `received_at` TIMESTAMP NOT NULL OPTIONS(description='When the ingest service received the input.'),
  `origin` STRING NOT NULL OPTIONS(description='Where it came from: http, kafka:topic/partition/offset, replay:file:line.'),
  `category` STRING OPTIONS(description='Category claimed by the input, if readable.'),
  `event_id` STRING OPTIONS(description='event_id claimed by the input, if readable.'),
  `error_field` STRING OPTIONS(description='Field of the first validation issue.'),
  `error_rule` STRING NOT NULL OPTIONS(description='Rule of the first validation issue.'),
  `error` STRING NOT NULL OPTIONS(description='Every validation issue: field, rule and value (truncated).'),
  `raw_body` BYTES NOT NULL OPTIONS(description='The input exactly as received.')
)
PARTITION BY DATE(`received_at`)
CLUSTER BY `origin`, `error_rule`
OPTIONS(description='Input that failed validation: raw body, error, origin and time.');
