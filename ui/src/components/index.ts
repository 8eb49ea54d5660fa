export { JsonView } from './JsonView';
export { Loading } from './Loading';
export { ErrorBox } from './ErrorBox';
export { useAsync } from './useAsync';
export { KindBadge, StatusBadge, StatusDot, SPAN_KINDS, kindClass } from './Badges';
export { Empty, PageHeader, Section, CopyButton, TextBlock } from './misc';
export { formatTime, formatMs, formatNumber, formatCost, formatRelative, preview } from '../format';
