// A browser's own EventSource following a live productStream over GET, run
// in a page of the server's origin (page.evaluate). Once its snapshot is
// complete it calls the page's `snapshotComplete()`, and the test cuts its
// connection: EventSource reconnects on its own, with the last event's id as
// Last-Event-ID. It stops at the first LIVE batch after that and resolves
// {batches, opens}.
(query) =>
  new Promise((resolve, reject) => {
    const source = new EventSource(`/graphql/?query=${encodeURIComponent(query)}`);
    const batches = [];
    let opens = 0;
    const timer = setTimeout(() => {
      source.close();
      reject(new Error(`timed out after ${opens} opens and ${batches.length} batches`));
    }, 30000);
    source.addEventListener("open", () => opens++);
    source.addEventListener("next", (event) => {
      const result = JSON.parse(event.data);
      if (result.errors) {
        source.close();
        reject(new Error(event.data));
        return;
      }
      const batch = result.data.productStream;
      batches.push({ ...batch, open: opens, id: event.lastEventId });
      if (batch.snapshotComplete && opens === 1) window.snapshotComplete();
      if (batch.phase === "LIVE" && opens > 1) {
        source.close();
        clearTimeout(timer);
        resolve({ batches, opens });
      }
    });
    source.addEventListener("complete", () => source.close());
  });
