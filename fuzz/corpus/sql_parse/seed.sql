-- The tutorial's Kinesis Data Analytics application, verbatim: split the metrics field into four columns and
-- format the timestamp (`hh` is Java's 12-hour clock, exactly as KDA printed it).
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    "timestamp" VARCHAR(50),
    "requests" VARCHAR(16),
    "new_users" VARCHAR(16),
    "new_orders" VARCHAR(16),
    "new_churns" VARCHAR(16));
CREATE OR REPLACE PUMP "SECOND_STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
SELECT STREAM TIMESTAMP_TO_CHAR('yyyy-MM-dd hh:mm:ss', t."COL_timestamp"),
       t.r."COL_1", t.r."COL_2", t.r."COL_3", t.r."COL_4"
FROM (SELECT STREAM "COL_timestamp",
             VARIABLE_COLUMN_LOG_PARSE("requests_newUsers_newOrders_churnUsers",
                 'COL_1 TYPE VARCHAR(16), COL_2 TYPE VARCHAR(16), COL_3 TYPE VARCHAR(16), COL_4 TYPE VARCHAR(16)',
                 ',') AS r
      FROM "SOURCE_SQL_STREAM_001") AS t;
