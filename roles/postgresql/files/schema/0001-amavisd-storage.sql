-- Version 1: amavisd-new's SQL logging and quarantine (@storage_sql_dsn,
-- $*_quarantine_method = 'sql:'), the tables of its README.sql-pg for
-- amavisd-new 2.13 with bytea addresses and ids ($sql_allow_8bit_address = 1).
-- Unlike the README, msgrcpt and quarantine reference msgs with ON DELETE
-- CASCADE, so expiring a message takes its recipients and its stored copy.
-- Runs as the database owner, in the transaction of securemail.gateway.pg_quarantine.

CREATE TABLE maddr (
  id            serial       PRIMARY KEY,
  partition_tag integer      DEFAULT 0,
  email         bytea        NOT NULL,
  domain        varchar(255) NOT NULL,
  CONSTRAINT part_email UNIQUE (partition_tag, email)
);

CREATE TABLE msgs (
  partition_tag integer      DEFAULT 0,
  mail_id       bytea        NOT NULL,
  secret_id     bytea        DEFAULT '',
  am_id         varchar(20)  NOT NULL,
  time_num      integer      NOT NULL CHECK (time_num >= 0),
  time_iso      timestamp with time zone NOT NULL,
  sid           integer      NOT NULL CHECK (sid >= 0) REFERENCES maddr (id) ON DELETE RESTRICT,
  policy        varchar(255) DEFAULT '',
  client_addr   varchar(255) DEFAULT '',
  size          integer      NOT NULL CHECK (size >= 0),
  originating   char(1)      DEFAULT ' ' NOT NULL,
  content       char(1),
  quar_type     char(1),
  quar_loc      varchar(255) DEFAULT '',
  dsn_sent      char(1),
  spam_level    real,
  message_id    varchar(255) DEFAULT '',
  from_addr     varchar(255) DEFAULT '',
  subject       varchar(255) DEFAULT '',
  host          varchar(255) NOT NULL,
  CONSTRAINT msgs_partition_mail UNIQUE (partition_tag, mail_id),
  PRIMARY KEY (partition_tag, mail_id)
);
CREATE INDEX msgs_idx_sid ON msgs (sid);
CREATE INDEX msgs_idx_mess_id ON msgs (message_id);
CREATE INDEX msgs_idx_time_iso ON msgs (time_iso);
CREATE INDEX msgs_idx_time_num ON msgs (time_num);

CREATE TABLE msgrcpt (
  partition_tag integer      DEFAULT 0,
  mail_id       bytea        NOT NULL,
  rseqnum       integer      DEFAULT 0 NOT NULL,
  rid           integer      NOT NULL REFERENCES maddr (id) ON DELETE RESTRICT,
  is_local      char(1)      DEFAULT ' ' NOT NULL,
  content       char(1)      DEFAULT ' ' NOT NULL,
  ds            char(1)      NOT NULL,
  rs            char(1)      NOT NULL,
  bl            char(1)      DEFAULT ' ',
  wl            char(1)      DEFAULT ' ',
  bspam_level   real,
  smtp_resp     varchar(255) DEFAULT '',
  CONSTRAINT msgrcpt_partition_mail_rseq UNIQUE (partition_tag, mail_id, rseqnum),
  PRIMARY KEY (partition_tag, mail_id, rseqnum),
  FOREIGN KEY (partition_tag, mail_id) REFERENCES msgs (partition_tag, mail_id) ON DELETE CASCADE
);
CREATE INDEX msgrcpt_idx_mail_id ON msgrcpt (mail_id);
CREATE INDEX msgrcpt_idx_rid ON msgrcpt (rid);

CREATE TABLE quarantine (
  partition_tag integer      DEFAULT 0,
  mail_id       bytea        NOT NULL,
  chunk_ind     integer      NOT NULL CHECK (chunk_ind >= 0),
  mail_text     bytea        NOT NULL,
  PRIMARY KEY (partition_tag, mail_id, chunk_ind),
  FOREIGN KEY (partition_tag, mail_id) REFERENCES msgs (partition_tag, mail_id) ON DELETE CASCADE
);

-- Retention: messages received more than `days` days ago go, with their
-- recipients and stored copies (cascade), then the addresses nothing refers
-- to. Run daily by the role's cron job as the postgres superuser; nobody else
-- may call it.
CREATE FUNCTION securemail_expire(days integer) RETURNS integer
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  gone integer;
BEGIN
  IF days IS NULL OR days < 1 THEN
    RAISE EXCEPTION 'securemail_expire: days must be at least 1, not %', days;
  END IF;
  DELETE FROM msgs WHERE time_iso < now() - make_interval(days => days);
  GET DIAGNOSTICS gone = ROW_COUNT;
  DELETE FROM maddr m
   WHERE NOT EXISTS (SELECT 1 FROM msgs WHERE sid = m.id)
     AND NOT EXISTS (SELECT 1 FROM msgrcpt WHERE rid = m.id);
  RETURN gone;
END
$$;
REVOKE ALL ON FUNCTION securemail_expire(integer) FROM PUBLIC;
