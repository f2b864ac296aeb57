package io.redress.job.model;

import io.redress.schemas.ComplaintEvent;

/** A decoded and validated event with its origin and the raw bytes (for dead letters). */
public class Complaint {
  public ComplaintEvent event;
  public Origin origin;
  public byte[] raw;

  public Complaint() {
  }

  public Complaint(ComplaintEvent event, Origin origin, byte[] raw) {
    this.event = event;
    this.origin = origin;
    this.raw = raw;
  }
}
