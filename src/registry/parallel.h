#pragma once
// ForEachParallel: the worker pool of a pull's layer downloads and a push's blob uploads. Items
// are started in index order on up to `workers` threads (the calling thread is one of them);
// the first error cancels the others (through a child Context) and is what is returned.
// Thread-safe; fn is called concurrently from several threads.

#include <cstddef>
#include <functional>
#include <string>

#include "util/context.h"
#include "util/status.h"

namespace kiln::registry {

// Runs fn(work, i) for every i in [0, n), `work` being a child of ctx that is cancelled with
// Cancelled(cancel_cause) once an item has failed. Returns the first failure, else ctx.Err().
Status ForEachParallel(const Context& ctx, size_t n, int workers, const std::string& cancel_cause,
                       const std::function<Status(const Context& work, size_t i)>& fn);

}  // namespace kiln::registry
