import { useState } from 'preact/hooks';
import { api, CONTRIBUTION_KINDS, type ContributionKind } from '../../app/api.js';
import { Field, Form, LiveRegion, PageTitle, RequireSignIn, Select, TextArea, useForm } from '../../app/components.js';
import { t } from '../../app/i18n.js';
import type { MessageKey } from '../../app/messages.js';
import { navigate } from '../../app/router.js';
import { useSession } from '../../app/session.js';

/** #/contributions/nouvelle: what is sent (dalles or GML), for which organisation, surveyed when and by whom; then its page takes the files. */
export default function NewContribution() {
  return (
    <section class="page contribution-new">
      <PageTitle text={t('contributionNew.title')} />
      <RequireSignIn returnTo="/contributions/nouvelle">
        <ContributionForm />
      </RequireSignIn>
    </section>
  );
}

function ContributionForm() {
  const s = useSession();
  const form = useForm();
  const orgs = (s.user?.organisations ?? []).filter((o) => o.status === 'active');
  const [kind, setKind] = useState<ContributionKind>('vector');
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [organisation, setOrganisation] = useState(orgs[0]?.slug ?? '');
  const [surveyedOn, setSurveyedOn] = useState('');
  const [producer, setProducer] = useState('');
  if (orgs.length === 0) return <p class="notice info">{t('contributionNew.noOrganisation')}</p>;
  const submit = () => {
    const local: Record<string, string> = {};
    if (!title.trim()) local['title'] = t('contributionNew.needTitle');
    void form.run(async () => {
      const c = await api.createContribution({
        kind,
        title: title.trim(),
        organisation,
        ...(description.trim() ? { description: description.trim() } : {}),
        ...(surveyedOn ? { surveyedOn } : {}),
        ...(producer.trim() ? { producer: producer.trim() } : {}),
      });
      navigate(`/contributions/${c.id}`);
    }, local);
  };
  return (
    <Form onSubmit={submit} label={t('contributionNew.title')}>
      <Select label={t('contributions.kind')} name="kind" value={kind} options={CONTRIBUTION_KINDS.map((k) => ({ value: k, label: t(`contribution.kindLong.${k}` as MessageKey) }))} onChange={setKind} />
      <Field label={t('contributionNew.titleLabel')} name="title" value={title} onInput={setTitle} required error={form.fieldError('title')} hint={t('contributionNew.titleHint')} />
      <TextArea label={t('contributionNew.description')} name="description" value={description} onInput={setDescription} error={form.fieldError('description')} />
      <Select label={t('contributions.organisation')} name="organisation" value={organisation} options={orgs.map((o) => ({ value: o.slug, label: o.name }))} onChange={setOrganisation} error={form.fieldError('organisation')} />
      <Field label={t('contributionNew.surveyedOn')} name="surveyedOn" type="date" value={surveyedOn} onInput={setSurveyedOn} error={form.fieldError('surveyedOn')} />
      <Field label={t('contributionNew.producer')} name="producer" value={producer} onInput={setProducer} error={form.fieldError('producer')} hint={t('contributionNew.producerHint')} />
      <LiveRegion message={form.message} />
      <button type="submit" class="primary" disabled={form.busy}>
        {t('contributionNew.submit')}
      </button>
    </Form>
  );
}
