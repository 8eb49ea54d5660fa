;; Hostile provider, written by hand:
;;   `models` returns 1,024 model names that all point at one 1 MiB buffer (1 GiB if copied);
;;   `chat` calls `outbound-http.send` with 1,024 headers whose names and values all point at the
;;   buffer (2 GiB if copied), then answers with an empty response.
;; No host grant is needed for either to be dangerous: the host copies an import's arguments before
;; it can check them. The host must stop each copy at the call's output cap and fail the call with
;; `output_too_large`.
(component
  (import "ember:plugin/outbound-http@0.1.0" (instance $http
    (type $header' (record (field "name" string) (field "value" string)))
    (export "header" (type $header (eq $header')))
    (type $secret-header' (record (field "name" string) (field "secret" string) (field "template" string)))
    (export "secret-header" (type $secret-header (eq $secret-header')))
    (type $request' (record (field "method" string) (field "url" string) (field "headers" (list $header))
      (field "secret-headers" (list $secret-header)) (field "body" (list u8)) (field "timeout-ms" (option u32))))
    (export "request" (type $request (eq $request')))
    (type $response' (record (field "status" u16) (field "headers" (list $header)) (field "body" (list u8))))
    (export "response" (type $response (eq $response')))
    (type $http-error' (variant (case "invalid-request" string) (case "timeout") (case "too-large" u64)
      (case "connection" string)))
    (export "http-error" (type $http-error (eq $http-error')))
    (export "send" (func (param "request" $request) (result (result $response (error $http-error)))))
  ))

  (core module $libc
    (memory (export "memory") 128)
    (global $next (mut i32) (i32.const 0x10000))
    (func (export "realloc") (param i32 i32) (param $align i32) (param $size i32) (result i32)
      (local $ptr i32)
      (local.set $ptr (i32.and
        (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $ptr) (local.get $size)))
      (local.get $ptr)))
  (core instance $libc (instantiate $libc))
  (core func $send (canon lower (func $http "send")
    (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))

  (core module $main
    (import "libc" "memory" (memory 1))
    ;; request flattened: method, url, headers, secret-headers, body (ptr, len each),
    ;; timeout-ms (disc, value), then the return pointer.
    (import "http" "send" (func $send (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))
    (data (i32.const 0x400) "hostile_provider")
    (data (i32.const 0x440) "0.1.0")
    (data (i32.const 0x480) "Hostile: names and headers that alias one buffer (expect output_too_large)")
    (data (i32.const 0x4e0) "GEThttps://api.example.com/v1/models")
    (data (i32.const 0x800)
      "\00\04\00\00\10\00\00\00" "\40\04\00\00\05\00\00\00" "\80\04\00\00\4a\00\00\00" "\00")
    (func (export "describe") (result i32) (i32.const 0x800))

    (func $fill_buf (memory.fill (i32.const 0x100000) (i32.const 0x78) (i32.const 0x100000)))

    ;; Strings are 8 bytes: ptr, len.
    (func (export "models") (result i32)
      (local $i i32) (local $at i32)
      (call $fill_buf)
      (loop $next
        (local.set $at (i32.add (i32.const 0x200000) (i32.shl (local.get $i) (i32.const 3))))
        (i32.store (local.get $at) (i32.const 0x100000))
        (i32.store offset=4 (local.get $at) (i32.const 0x100000))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (i32.const 1024))))
      (i32.store8 (i32.const 0x900) (i32.const 0))
      (i32.store (i32.const 0x904) (i32.const 0x200000))
      (i32.store (i32.const 0x908) (i32.const 1024))
      (i32.const 0x900))

    ;; Headers are 16 bytes: name @0, value @8. The reply area at 0xa00 is zeroed: if the host ever
    ;; answered, `chat` returns ok with an empty response from the zeroed area at 0x900.
    (func (export "chat") (param i32) (result i32)
      (local $i i32) (local $at i32)
      (call $fill_buf)
      (loop $next
        (local.set $at (i32.add (i32.const 0x200000) (i32.shl (local.get $i) (i32.const 4))))
        (i32.store (local.get $at) (i32.const 0x100000))
        (i32.store offset=4 (local.get $at) (i32.const 0x100000))
        (i32.store offset=8 (local.get $at) (i32.const 0x100000))
        (i32.store offset=12 (local.get $at) (i32.const 0x100000))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (i32.const 1024))))
      (call $send (i32.const 0x4e0) (i32.const 3) (i32.const 0x4e3) (i32.const 33)
        (i32.const 0x200000) (i32.const 1024) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
        (i32.const 0) (i32.const 0) (i32.const 0xa00))
      (i32.const 0x900)))
  (core instance $main (instantiate $main
    (with "libc" (instance $libc))
    (with "http" (instance (export "send" (func $send))))))

  (type $descriptor' (record (field "name" string) (field "version" string)
    (field "description" string) (field "config-schema" (option string))))
  (export $descriptor "descriptor" (type $descriptor'))
  (type $role' (enum "system" "user" "assistant" "tool"))
  (export $role "role" (type $role'))
  (type $tool-call' (record (field "id" string) (field "name" string) (field "arguments" string)))
  (export $tool-call "tool-call" (type $tool-call'))
  (type $message' (record (field "role" $role) (field "content" string)
    (field "tool-calls" (list $tool-call)) (field "tool-call-id" (option string))))
  (export $message "message" (type $message'))
  (type $tool' (record (field "name" string) (field "description" string) (field "parameters" string)))
  (export $tool "tool" (type $tool'))
  (type $chat-request' (record (field "model" string) (field "messages" (list $message))
    (field "tools" (list $tool)) (field "tool-choice" (option string))
    (field "response-format" (option string)) (field "temperature" (option f64))
    (field "max-tokens" (option u32)) (field "top-p" (option f64)) (field "stop" (list string))
    (field "extra" (option string))))
  (export $chat-request "chat-request" (type $chat-request'))
  (type $usage' (record (field "prompt-tokens" u32) (field "completion-tokens" u32) (field "total-tokens" u32)))
  (export $usage "usage" (type $usage'))
  (type $chat-response' (record (field "model" string) (field "message" $message)
    (field "finish-reason" (option string)) (field "usage" (option $usage))))
  (export $chat-response "chat-response" (type $chat-response'))
  (type $chat-error' (variant (case "invalid-request" string) (case "rate-limited" (option u32))
    (case "unavailable" string) (case "failed" string)))
  (export $chat-error "chat-error" (type $chat-error'))

  (func (export "describe") (result $descriptor)
    (canon lift (core func $main "describe") (memory (core memory $libc "memory"))))
  (func (export "models") (result (result (list string) (error $chat-error)))
    (canon lift (core func $main "models") (memory (core memory $libc "memory"))))
  (func (export "chat") (param "request" $chat-request) (result (result $chat-response (error $chat-error)))
    (canon lift (core func $main "chat") (memory (core memory $libc "memory"))
      (realloc (core func $libc "realloc"))))
)
