// Placeholder: owned by the UI pages helper, replaced with the real page.
export default function PlaygroundPage(_props: { params: Record<string, string> }) {
  return <div>Playground</div>;
}
