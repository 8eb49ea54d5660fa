;; Hostile evaluator, written by hand so that its values can be laid out byte by byte: every
;; string and list it hands the host points into one small region of its memory, so that copying
;; them out would cost the host far more than the plugin's own memory limit. The host must stop
;; each copy at the call's output cap and fail the call with `output_too_large`.
;;
;; `evaluate` picks a shape from the first character of the example's `input` JSON string:
;;   "alias…"  1,024 scores whose name, label, explanation and metadata all point at one 1 MiB
;;             buffer (4 GiB if copied; the entries alone are small, the strings are not);
;;   "empty…"  800,000 scores with empty strings (51 MB of guest memory, about 110 MB as host
;;             records: the entries alone are over the cap);
;;   "llm…"    calls `llm.complete` with 1,024 messages whose content all point at the buffer;
;;   "nested…" calls `llm.complete` with 1,000 messages that each list the same 1,000 tool calls
;;             with empty strings (a million host records, each list small on its own);
;;   anything else: one polite score, `hostile_values` = 1.0.
;; None of the shapes needs the `llm` grant to be dangerous: the host copies an import's
;; arguments before it can check the grant.
(component
  (import "ember:plugin/llm@0.1.0" (instance $llm
    (type $role' (enum "system" "user" "assistant" "tool"))
    (export "role" (type $role (eq $role')))
    (type $tool-call' (record (field "id" string) (field "name" string) (field "arguments" string)))
    (export "tool-call" (type $tool-call (eq $tool-call')))
    (type $message' (record (field "role" $role) (field "content" string)
      (field "tool-calls" (list $tool-call)) (field "tool-call-id" (option string))))
    (export "message" (type $message (eq $message')))
    (type $tool' (record (field "name" string) (field "description" string) (field "parameters" string)))
    (export "tool" (type $tool (eq $tool')))
    (type $chat-request' (record (field "model" string) (field "messages" (list $message))
      (field "tools" (list $tool)) (field "tool-choice" (option string))
      (field "response-format" (option string)) (field "temperature" (option f64))
      (field "max-tokens" (option u32)) (field "top-p" (option f64)) (field "stop" (list string))
      (field "extra" (option string))))
    (export "chat-request" (type $chat-request (eq $chat-request')))
    (type $usage' (record (field "prompt-tokens" u32) (field "completion-tokens" u32) (field "total-tokens" u32)))
    (export "usage" (type $usage (eq $usage')))
    (type $chat-response' (record (field "model" string) (field "message" $message)
      (field "finish-reason" (option string)) (field "usage" (option $usage))))
    (export "chat-response" (type $chat-response (eq $chat-response')))
    (type $chat-error' (variant (case "invalid-request" string) (case "rate-limited" (option u32))
      (case "unavailable" string) (case "failed" string)))
    (export "chat-error" (type $chat-error (eq $chat-error')))
    (export "complete" (func (param "provider" (option string)) (param "request" $chat-request)
      (result (result $chat-response (error $chat-error)))))
  ))

  ;; Memory and a bump allocator, instantiated first so that the import can be lowered into it.
  (core module $libc
    (memory (export "memory") 192)
    (global $next (mut i32) (i32.const 0x10000))
    (func (export "realloc") (param i32 i32) (param $align i32) (param $size i32) (result i32)
      (local $ptr i32)
      (local.set $ptr (i32.and
        (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $ptr) (local.get $size)))
      (local.get $ptr)))
  (core instance $libc (instantiate $libc))
  (core func $complete (canon lower (func $llm "complete")
    (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))

  (core module $main
    (import "libc" "memory" (memory 1))
    (import "llm" "complete" (func $complete (param i32 i32)))
    ;; Strings, then the descriptor record (name, version, description, config-schema: none).
    (data (i32.const 0x400) "hostile_values")
    (data (i32.const 0x440) "0.1.0")
    (data (i32.const 0x480) "Hostile: values that alias one buffer (expect output_too_large)")
    (data (i32.const 0x800)
      "\00\04\00\00\0e\00\00\00" "\40\04\00\00\05\00\00\00" "\80\04\00\00\3f\00\00\00" "\00")

    (global $buf i32 (i32.const 0x100000))      ;; 1 MiB of 'x'
    (global $buf_len i32 (i32.const 0x100000))
    (global $list i32 (i32.const 0x200000))     ;; the top-level list
    (global $list2 i32 (i32.const 0x600000))    ;; the shared inner list of the nested shape
    (global $ret i32 (i32.const 0x900))         ;; return area
    (global $args i32 (i32.const 0xa00))        ;; `complete`'s arguments (128 bytes)
    (global $reply i32 (i32.const 0xb00))       ;; `complete`'s result

    (func (export "describe") (result i32) (i32.const 0x800))

    ;; ok(list) in the return area.
    (func $ok (param $ptr i32) (param $len i32) (result i32)
      (i32.store8 (global.get $ret) (i32.const 0))
      (i32.store offset=4 (global.get $ret) (local.get $ptr))
      (i32.store offset=8 (global.get $ret) (local.get $len))
      (global.get $ret))

    ;; An `option<string>` at `at` pointing at the whole buffer.
    (func $some_buf (param $at i32)
      (i32.store8 (local.get $at) (i32.const 1))
      (i32.store offset=4 (local.get $at) (global.get $buf))
      (i32.store offset=8 (local.get $at) (global.get $buf_len)))

    ;; A `string` at `at` pointing at the whole buffer.
    (func $buf_str (param $at i32)
      (i32.store (local.get $at) (global.get $buf))
      (i32.store offset=4 (local.get $at) (global.get $buf_len)))

    (func $fill_buf (memory.fill (global.get $buf) (i32.const 0x78) (global.get $buf_len)))

    ;; Scores are 64 bytes: name @0, score @8 (f64 @16), label @24, explanation @36, metadata @48.
    (func $aliased_scores (result i32)
      (local $i i32) (local $at i32)
      (call $fill_buf)
      (loop $next
        (local.set $at (i32.add (global.get $list) (i32.shl (local.get $i) (i32.const 6))))
        (call $buf_str (local.get $at))
        (call $some_buf (i32.add (local.get $at) (i32.const 24)))
        (call $some_buf (i32.add (local.get $at) (i32.const 36)))
        (call $some_buf (i32.add (local.get $at) (i32.const 48)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (i32.const 1024))))
      (call $ok (global.get $list) (i32.const 1024)))

    ;; Fresh pages read as zero: a zeroed score has empty strings and no options.
    (func $empty_scores (result i32)
      (local $base i32)
      (local.set $base (i32.shl (memory.grow (i32.const 816)) (i32.const 16)))
      (call $ok (local.get $base) (i32.const 800000)))

    ;; Messages are 32 bytes: role @0, content @4, tool-calls @12, tool-call-id @20. The request
    ;; sits at offset 16 of the arguments, after `provider` (none): messages at +8 of the request.
    (func $call_llm (param $messages i32) (param $count i32)
      (i32.store offset=24 (global.get $args) (local.get $messages))
      (i32.store offset=28 (global.get $args) (local.get $count))
      (call $complete (global.get $args) (global.get $reply)))

    (func $llm_aliased
      (local $i i32) (local $at i32)
      (call $fill_buf)
      (loop $next
        (local.set $at (i32.add (global.get $list) (i32.shl (local.get $i) (i32.const 5))))
        (i32.store8 (local.get $at) (i32.const 1))
        (call $buf_str (i32.add (local.get $at) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (i32.const 1024))))
      (call $call_llm (global.get $list) (i32.const 1024)))

    ;; Tool calls are 24 bytes (id, name, arguments); the shared list at $list2 is zeroed memory:
    ;; 1,000 tool calls with empty strings.
    (func $llm_nested
      (local $i i32) (local $at i32)
      (loop $next
        (local.set $at (i32.add (global.get $list) (i32.shl (local.get $i) (i32.const 5))))
        (i32.store8 (local.get $at) (i32.const 2))
        (i32.store offset=12 (local.get $at) (global.get $list2))
        (i32.store offset=16 (local.get $at) (i32.const 1000))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (i32.const 1000))))
      (call $call_llm (global.get $list) (i32.const 1000)))

    (func $polite (result i32)
      (i32.store (global.get $list) (i32.const 0x400))
      (i32.store offset=4 (global.get $list) (i32.const 14))
      (i32.store8 offset=8 (global.get $list) (i32.const 1))
      (f64.store offset=16 (global.get $list) (f64.const 1))
      (call $ok (global.get $list) (i32.const 1)))

    ;; eval-input flattened: input (ptr, len), output, expected (disc, ptr, len), metadata.
    (func (export "evaluate") (param $input i32) (param $input_len i32)
        (param i32 i32 i32 i32 i32 i32 i32) (result i32)
      (local $shape i32)
      (if (i32.ge_u (local.get $input_len) (i32.const 2))
        (then (local.set $shape (i32.load8_u offset=1 (local.get $input)))))
      (if (i32.eq (local.get $shape) (i32.const 0x61)) (then (return (call $aliased_scores))))
      (if (i32.eq (local.get $shape) (i32.const 0x65)) (then (return (call $empty_scores))))
      (if (i32.eq (local.get $shape) (i32.const 0x6c)) (then (call $llm_aliased)))
      (if (i32.eq (local.get $shape) (i32.const 0x6e)) (then (call $llm_nested)))
      (call $polite)))

  (core instance $main (instantiate $main
    (with "libc" (instance $libc))
    (with "llm" (instance (export "complete" (func $complete))))))

  (type $descriptor' (record (field "name" string) (field "version" string)
    (field "description" string) (field "config-schema" (option string))))
  (export $descriptor "descriptor" (type $descriptor'))
  (type $plugin-error' (variant (case "invalid-config" string) (case "invalid-input" string) (case "failed" string)))
  (export $plugin-error "plugin-error" (type $plugin-error'))
  (type $eval-input' (record (field "input" string) (field "output" string)
    (field "expected" (option string)) (field "metadata" string)))
  (export $eval-input "eval-input" (type $eval-input'))
  (type $score' (record (field "name" string) (field "score" (option f64)) (field "label" (option string))
    (field "explanation" (option string)) (field "metadata" (option string))))
  (export $score "score" (type $score'))

  (func (export "describe") (result $descriptor)
    (canon lift (core func $main "describe") (memory (core memory $libc "memory"))))
  (func (export "evaluate") (param "input" $eval-input) (result (result (list $score) (error $plugin-error)))
    (canon lift (core func $main "evaluate") (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
)
