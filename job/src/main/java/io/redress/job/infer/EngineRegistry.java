package io.redress.job.infer;

import io.redress.inference.engine.Engine;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One engine per GPU (per model and settings) per TaskManager JVM, shared by every inference
 * subtask there: a GPU holds one copy of the weights and one KV cache, and requests from all
 * subtasks batch together. Reference-counted: the first {@link #acquire} opens the engine, the
 * last {@link #release} closes it. This is the one piece of JVM-wide state the job has, by
 * design (a TaskManager's slots share its GPUs).
 */
public final class EngineRegistry {

  private static final Logger LOG = LoggerFactory.getLogger(EngineRegistry.class);
  private static final EngineRegistry SHARED = new EngineRegistry(Engine::open);

  private final Function<io.redress.inference.engine.EngineConfig, Engine> opener;
  private final Map<EngineKey, Entry> engines = new HashMap<>();

  private static final class Entry {
    final Engine engine;
    int users;

    Entry(Engine engine) {
      this.engine = engine;
    }
  }

  /** A registry with its own opener (tests). */
  public EngineRegistry(Function<io.redress.inference.engine.EngineConfig, Engine> opener) {
    this.opener = opener;
  }

  /** The TaskManager's registry. */
  public static EngineRegistry shared() {
    return SHARED;
  }

  /** The engine for {@code key}, opened on first use; pair with {@link #release}. */
  public synchronized Engine acquire(EngineKey key) {
    Entry e = engines.get(key);
    if (e == null) {
      LOG.info("Opening engine for {}", key);
      e = new Entry(opener.apply(key.config()));
      engines.put(key, e);
      LOG.info("Engine for {} runs on {}", key, e.engine.device());
    }
    e.users++;
    return e.engine;
  }

  /** Gives back one use; the last closes the engine. */
  public synchronized void release(EngineKey key) {
    Entry e = engines.get(key);
    if (e == null) {
      return;
    }
    if (--e.users == 0) {
      engines.remove(key);
      LOG.info("Closing engine for {}", key);
      e.engine.close();
    }
  }

  /** How many subtasks use the engine for {@code key} (0 when none is open). */
  public synchronized int users(EngineKey key) {
    Entry e = engines.get(key);
    return e == null ? 0 : e.users;
  }
}
