// SPDX-License-Identifier: Apache-2.0
/*
 * The Node addon: converts arguments and calls region.h, nothing more. Every
 * export maps one C call; a negative code becomes a thrown Error whose `code`
 * is the C name (PFS_ERR_RING_FULL, ENOENT, ...), whose `errno` is the C value
 * and whose message is the C side's own text. Encoding, decoding and every
 * decision (liveness, retries, what an error means to a person) live in
 * TypeScript: the typed surface is ts/dataplane/native.ts, the wrapper
 * ts/dataplane/control.ts.
 *
 * Every call is a few loads and stores on shared memory (attach: open and
 * mmap), so they run on the JavaScript thread without blocking it.
 */
#include <napi.h>

#include <string>

extern "C" {
#include "error.h"
#include "region.h"
}

namespace
{

struct Handle {
	pfs_region *r = nullptr;
};

void finalize(Napi::Env, Handle *h)
{
	if (h->r)
		pfs_region_close(h->r);
	delete h;
}

Napi::Value fail(Napi::Env env, int rc, const std::string &msg)
{
	Napi::Error e = Napi::Error::New(env, msg.empty() ? pfs_strerror(rc) : msg);

	e.Set("code", Napi::String::New(env, pfs_errname(rc)));
	e.Set("errno", Napi::Number::New(env, rc));
	e.ThrowAsJavaScriptException();
	return env.Undefined();
}

// The region of the handle in argument 0, or nullptr with an exception set.
pfs_region *region_arg(const Napi::CallbackInfo &info)
{
	if (info.Length() < 1 || !info[0].IsExternal()) {
		fail(info.Env(), PFS_ERR_INVALID_ARG, "expected a control region handle");
		return nullptr;
	}
	Handle *h = info[0].As<Napi::External<Handle>>().Data();
	if (!h->r)
		fail(info.Env(), PFS_ERR_INVALID_ARG, "the control region handle is detached");
	return h->r;
}

// attach(path: string): handle
Napi::Value attach(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	char err[512] = "";
	pfs_region *r = nullptr;

	if (info.Length() < 1 || !info[0].IsString())
		return fail(env, PFS_ERR_INVALID_ARG, "attach: expected the region's path");
	std::string path = info[0].As<Napi::String>().Utf8Value();
	int rc = pfs_region_attach(&r, path.c_str(), err, sizeof(err));
	if (rc)
		return fail(env, rc, err);
	return Napi::External<Handle>::New(env, new Handle{ r }, finalize);
}

// detach(handle): void; a second detach is a no-op
Napi::Value detach(const Napi::CallbackInfo &info)
{
	if (info.Length() >= 1 && info[0].IsExternal()) {
		Handle *h = info[0].As<Napi::External<Handle>>().Data();
		pfs_region_close(h->r);
		h->r = nullptr;
	}
	return info.Env().Undefined();
}

// info(handle): RegionInfo
Napi::Value region_info(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	pfs_region *r = region_arg(info);
	struct pfs_region_info i;

	if (!r)
		return env.Undefined();
	pfs_region_get_info(r, &i);
	Napi::Object o = Napi::Object::New(env);
	o.Set("layoutVersion", i.layout_version);
	o.Set("pid", i.pid);
	o.Set("state", i.state);
	o.Set("workerCount", i.worker_count);
	o.Set("heartbeatNs", Napi::BigInt::New(env, i.heartbeat_ns));
	o.Set("regionBytes", static_cast<double>(i.region_bytes));
	o.Set("cmdRingBytes", static_cast<double>(i.cmd_ring_bytes));
	o.Set("evtRingBytes", static_cast<double>(i.evt_ring_bytes));
	o.Set("cmdUsed", static_cast<double>(i.cmd_used));
	o.Set("evtUsed", static_cast<double>(i.evt_used));
	o.Set("workersMax", i.workers_max);
	o.Set("workerWords", i.worker_words);
	o.Set("sessionSlots", i.session_slots);
	o.Set("slotWords", i.slot_words);
	o.Set("counterCount", i.counter_count);
	return o;
}

// send(handle, message: Uint8Array): void
Napi::Value send(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	pfs_region *r = region_arg(info);

	if (!r)
		return env.Undefined();
	if (info.Length() < 2 || !info[1].IsTypedArray() ||
	    info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
		return fail(env, PFS_ERR_INVALID_ARG, "send: expected the message as a Uint8Array");
	Napi::Uint8Array msg = info[1].As<Napi::Uint8Array>();
	int rc = pfs_region_send(r, msg.Data(), msg.ByteLength());
	if (rc)
		return fail(env, rc, "");
	return env.Undefined();
}

// recv(handle): Uint8Array | null
Napi::Value recv(const Napi::CallbackInfo &info)
{
	static uint8_t buf[PFS_MSG_MAX]; // the JavaScript thread is the only caller
	Napi::Env env = info.Env();
	pfs_region *r = region_arg(info);
	size_t n = 0;

	if (!r)
		return env.Undefined();
	int rc = pfs_region_recv(r, buf, sizeof(buf), &n);
	if (rc < 0)
		return fail(env, rc, "");
	if (rc == 0)
		return env.Null();
	return Napi::Buffer<uint8_t>::Copy(env, buf, n);
}

// counters(handle): BigUint64Array (layout in info())
Napi::Value counters(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	pfs_region *r = region_arg(info);

	if (!r)
		return env.Undefined();
	size_t words = pfs_region_counter_words(r);
	Napi::TypedArrayOf<uint64_t> out = Napi::TypedArrayOf<uint64_t>::New(env, words);
	int rc = pfs_region_counters(r, out.Data(), words);
	if (rc)
		return fail(env, rc, "");
	return out;
}

// nowNs(): bigint, the clock of the heartbeat
Napi::Value now_ns(const Napi::CallbackInfo &info)
{
	return Napi::BigInt::New(info.Env(), pfs_region_now_ns());
}

Napi::Object init(Napi::Env env, Napi::Object exports)
{
	exports.Set("layoutVersion", Napi::Number::New(env, PFS_REGION_VERSION));
	exports.Set("attach", Napi::Function::New(env, attach, "attach"));
	exports.Set("detach", Napi::Function::New(env, detach, "detach"));
	exports.Set("info", Napi::Function::New(env, region_info, "info"));
	exports.Set("send", Napi::Function::New(env, send, "send"));
	exports.Set("recv", Napi::Function::New(env, recv, "recv"));
	exports.Set("counters", Napi::Function::New(env, counters, "counters"));
	exports.Set("nowNs", Napi::Function::New(env, now_ns, "nowNs"));
	return exports;
}

} // namespace

NODE_API_MODULE(pfs_addon, init)
