/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron tracepoints: /sys/kernel/tracing/events/bigiron/.
 *
 *   bigiron_fault_begin   a fault needs rights this node does not hold
 *   bigiron_fault_end     it got them (err 0) or failed; ns: service time
 *   bigiron_revoke        the protocol took access away (unmap, wrprotect)
 *   bigiron_send          a coherence message queued to a peer
 *   bigiron_recv          a coherence message delivered from a peer
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM bigiron

#if !defined(_BIGIRON_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _BIGIRON_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(bigiron_fault_begin,
	    TP_PROTO(u32 vm, u64 page, bool write),
	    TP_ARGS(vm, page, write),
	    TP_STRUCT__entry(__field(u32, vm)
			     __field(u64, page)
			     __field(bool, write)),
	    TP_fast_assign(__entry->vm = vm;
			   __entry->page = page;
			   __entry->write = write;),
	    TP_printk("vm%u page %#llx %s", __entry->vm, __entry->page,
		      __entry->write ? "write" : "read")
);

TRACE_EVENT(bigiron_fault_end,
	    TP_PROTO(u32 vm, u64 page, bool write, int err, u64 ns),
	    TP_ARGS(vm, page, write, err, ns),
	    TP_STRUCT__entry(__field(u32, vm)
			     __field(u64, page)
			     __field(bool, write)
			     __field(int, err)
			     __field(u64, ns)),
	    TP_fast_assign(__entry->vm = vm;
			   __entry->page = page;
			   __entry->write = write;
			   __entry->err = err;
			   __entry->ns = ns;),
	    TP_printk("vm%u page %#llx %s err %d ns %llu", __entry->vm,
		      __entry->page, __entry->write ? "write" : "read",
		      __entry->err, __entry->ns)
);

TRACE_EVENT(bigiron_revoke,
	    TP_PROTO(u32 vm, u64 page, bool unmap),
	    TP_ARGS(vm, page, unmap),
	    TP_STRUCT__entry(__field(u32, vm)
			     __field(u64, page)
			     __field(bool, unmap)),
	    TP_fast_assign(__entry->vm = vm;
			   __entry->page = page;
			   __entry->unmap = unmap;),
	    TP_printk("vm%u page %#llx %s", __entry->vm, __entry->page,
		      __entry->unmap ? "unmap" : "wrprotect")
);

DECLARE_EVENT_CLASS(bigiron_msg,
		    TP_PROTO(u32 vm, u16 node, u8 type, u32 txid, u64 page,
			     u16 len),
		    TP_ARGS(vm, node, type, txid, page, len),
		    TP_STRUCT__entry(__field(u32, vm)
				     __field(u16, node)
				     __field(u8, type)
				     __field(u32, txid)
				     __field(u64, page)
				     __field(u16, len)),
		    TP_fast_assign(__entry->vm = vm;
				   __entry->node = node;
				   __entry->type = type;
				   __entry->txid = txid;
				   __entry->page = page;
				   __entry->len = len;),
		    TP_printk("vm%u node %u %s txid %u page %#llx len %u",
			      __entry->vm, __entry->node,
			      bi_wire_type_name(__entry->type),
			      __entry->txid, __entry->page, __entry->len)
);

DEFINE_EVENT(bigiron_msg, bigiron_send,
	     TP_PROTO(u32 vm, u16 node, u8 type, u32 txid, u64 page,
		      u16 len),
	     TP_ARGS(vm, node, type, txid, page, len)
);

DEFINE_EVENT(bigiron_msg, bigiron_recv,
	     TP_PROTO(u32 vm, u16 node, u8 type, u32 txid, u64 page,
		      u16 len),
	     TP_ARGS(vm, node, type, txid, page, len)
);

#endif /* _BIGIRON_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
